#!/usr/bin/env bash
# Delta Lake 4.3.1 jars for Spark (pyspark 4.1.4) from Maven Central into .cache/spark/jars
# (cached, SHA-256 checked). Only the two jars: Delta's transitive dependencies duplicate what
# pyspark ships. The dbt `spark` target (profiles/profiles.yml) puts them on spark.jars.
set -euo pipefail
cd "$(dirname "$0")/../.."
JARS=".cache/spark/jars"
VERSION="4.3.1"
declare -A SHA256=(
    ["delta-spark_2.13-$VERSION.jar"]="ebf35a4383f0a653c3ee3c7882c0edcac2f846be31ac61af4b96ccfaaf36c171"
    ["delta-storage-$VERSION.jar"]="577c12c7e371be4c041714fb48e88ad86e3c3512beea2bdaffbe7a4debf79718"
)
verify() {
    local jar
    for jar in "${!SHA256[@]}"; do
        [ -f "$JARS/$jar" ] || return 1
        echo "${SHA256[$jar]}  $JARS/$jar" | sha256sum --check --status || return 1
    done
}
if verify; then
    exit 0
fi
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
    else
        echo "spark.sh: Java 17 and Maven are needed to fetch the Delta jars" >&2
        exit 1
    fi
fi
mkdir -p "$JARS"
for artifact in "io.delta:delta-spark_2.13:$VERSION" "io.delta:delta-storage:$VERSION"; do
    mvn -q -B dependency:copy -Dartifact="$artifact" -Dtransitive=false \
        -DoutputDirectory="$PWD/$JARS"
done
if ! verify; then
    echo "spark.sh: a Delta jar in $JARS does not match its pinned SHA-256; removed" >&2
    rm -f "$JARS"/delta-*.jar
    exit 1
fi
echo "spark.sh: Delta $VERSION jars in $JARS"
