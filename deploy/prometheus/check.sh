#!/usr/bin/env bash
# Valida la configuración de Prometheus de almacen: sintaxis de la configuración, de las
# reglas y las pruebas unitarias de alertas y reglas de registro. Sale distinto de 0 si algo
# falla. Necesita promtool (Debian: apt-get install prometheus).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v promtool >/dev/null 2>&1; then
    echo "check.sh: falta promtool (apt-get install prometheus)" >&2
    exit 1
fi

promtool check config prometheus.yml
promtool check rules recording_rules.yml slo_rules.yml alert_rules.yml
promtool test rules tests/*.yml
