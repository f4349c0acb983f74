#!/usr/bin/env bash
# The whole suite on real PostgreSQL and Kafka: lint, then pytest. Extra arguments go to pytest.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=.venv/bin
echo "== lint (ruff, mypy)"
$bin/ruff check services gateway tests bench || exit 1
$bin/mypy services gateway || exit 1
echo "== tests on PostgreSQL and Apache Kafka"
exec bash scripts/with-servers.sh $bin/python -m pytest -q -rs --durations=15 "$@"
