#!/usr/bin/env bash
# A self-signed certificate for local use of the Clawbase edge (tests, a laptop, a VPS before
# Let's Encrypt). Browsers will warn; production uses Let's Encrypt (see docs/deploy.md).
#
#   scripts/make-self-signed-cert.sh DOMAIN OUT_DIR [DAYS]
#
# Writes OUT_DIR/fullchain.pem and OUT_DIR/privkey.pem (mode 0600): one ECDSA P-256 certificate
# for DOMAIN and its conductor., gateway., n8n. and files. names, the layout nginx expects
# (CLAWBASE_TLS_CERT / CLAWBASE_TLS_KEY, like /etc/letsencrypt/live/DOMAIN/).
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
domain=$1
out=$2
days=${3:-90}
if ! [[ $domain =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
  echo "make-self-signed-cert: \"$domain\" is not a domain name (letters, digits, dots, dashes)." >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "make-self-signed-cert: openssl is missing (apt-get install openssl)." >&2; exit 1; }
mkdir -p "$out"
umask 077
san="DNS:$domain,DNS:conductor.$domain,DNS:gateway.$domain,DNS:n8n.$domain,DNS:files.$domain"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 -nodes \
  -days "$days" -subj "/CN=$domain" -addext "subjectAltName=$san" \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$out/privkey.pem" -out "$out/fullchain.pem" 2>/dev/null
chmod 0644 "$out/fullchain.pem"
echo "make-self-signed-cert: $out/fullchain.pem and $out/privkey.pem for $san (valid $days days)"
