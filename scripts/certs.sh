#!/usr/bin/env bash
# Test certificates for TLS (docs/tls.md), made with Debian's openssl into DIR (default:
# a new temporary folder, printed). Nothing here is ever committed: the keys are made
# fresh for each test session.
#
#   ca.pem ca.key             the test CA
#   server.pem server.key     signed by the CA, for 127.0.0.1 and localhost (SAN)
#   client.pem client.key     a client certificate signed by the CA (mutual TLS)
#   expired.pem expired.key   signed by the CA, for 127.0.0.1, expired yesterday
#   wrongname.pem wrongname.key  signed by the CA, for broker.invalid only
#   other-ca.pem other-ca.key    a second CA nobody trusts
#   untrusted.pem untrusted.key  server/client certificate signed by other-ca
set -euo pipefail
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }

ca() {  # NAME SUBJECT
  ossl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() {  # NAME CA SAN [openssl x509 validity options...]
  local name=$1 issuer=$2 san=$3
  shift 3
  ossl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$name.ext"
  ossl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -CAcreateserial -out "$name.pem" \
    -extfile "$name.ext" "$@"
  rm -f "$name.csr" "$name.ext"
}

ca ca "mqtt-harness test CA"
ca other-ca "mqtt-harness untrusted CA"
leaf server ca "IP:127.0.0.1,DNS:localhost" -days 30
leaf client ca "DNS:client" -days 30
leaf wrongname ca "DNS:broker.invalid" -days 30
leaf untrusted other-ca "IP:127.0.0.1,DNS:localhost" -days 30
# Valid from two days ago until yesterday: `openssl x509 -req` cannot set a start date in
# the past, `openssl ca` can (-startdate/-enddate).
ossl req -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr -subj "/CN=expired"
cat >expired.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = anything
[ anything ]
commonName = supplied
[ ext ]
subjectAltName = IP:127.0.0.1,DNS:localhost
basicConstraints = CA:FALSE
CNF
: >index.txt
echo 1000 >serial
ossl ca -batch -config expired.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem -notext \
  -extensions ext -startdate "$(date -u -d '2 days ago' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)"
rm -f expired.csr expired.cnf index.txt* serial* ./*.srl ./1000.pem
echo "$dir"
