#!/usr/bin/env bash
# Apache Kafka 3.9.1 broker jars from Maven Central into .cache/kafka/libs (cached).
# The tests, the demo and the benchmark start a single-node KRaft broker from them with Java 17.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIBS=".cache/kafka/libs"
STAMP="$LIBS/.complete-3.9.1"
if [ -f "$STAMP" ]; then
    exit 0
fi
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
    else
        echo "kafka.sh: Java 17 and Maven are needed to fetch the Kafka broker jars" >&2
        exit 1
    fi
fi
mkdir -p "$LIBS"
mvn -q -B -f scripts/kafka/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$PWD/$LIBS"
touch "$STAMP"
echo "kafka.sh: $(ls "$LIBS"/*.jar | wc -l) jars in $LIBS"
