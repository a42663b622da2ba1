#!/usr/bin/env bash
# A small EDS PKI with the OpenSSL command line, for the demo and the tests:
# a CA, its CRL, and personal certificates shaped like the Kazakh national
# PKI's (SERIALNUMBER=IIN…, OU=BIN…), and detached CMS signatures made with
# them — what NCALayer produces, so that the portal's upload path is the real one.
#   pki.sh DIR init                       DIR/ca.pem, DIR/ca.key, DIR/crl.pem
#   pki.sh DIR person NAME IIN [BIN]      DIR/NAME.pem, DIR/NAME.key
#   pki.sh DIR revoke NAME                adds NAME to DIR/crl.pem
#   pki.sh DIR sign NAME FILE [OUT]       OUT (default FILE.p7s): DER, detached
set -euo pipefail
dir=$1; cmd=$2; shift 2
mkdir -p "$dir"
cnf="$dir/ca.cnf"
write_cnf() {
  cat > "$cnf" <<CNF
[ ca ]
default_ca = demo
[ demo ]
dir = $dir
database = $dir/index.txt
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 30
CNF
}
crl() { openssl ca -batch -config "$cnf" -gencrl -keyfile "$dir/ca.key" -cert "$dir/ca.pem" -out "$dir/crl.pem" 2>/dev/null; }
case "$cmd" in
  init)
    [ -f "$dir/ca.pem" ] && exit 0
    write_cnf; : > "$dir/index.txt"; echo 1000 > "$dir/crlnumber"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
      -subj "/C=KZ/O=Tanu demo/CN=Tanu demo EDS root" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    crl
    ;;
  person)
    name=$1; iin=$2; bin=${3:-}
    subj="/C=KZ/CN=$name/serialNumber=IIN$iin"
    [ -n "$bin" ] && subj="$subj/OU=BIN$bin"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "$subj" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n' > "$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
      -days 365 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
    ;;
  revoke)
    openssl ca -batch -config "$cnf" -keyfile "$dir/ca.key" -cert "$dir/ca.pem" -revoke "$dir/$1.pem" 2>/dev/null
    crl
    ;;
  sign)
    name=$1; file=$2; out=${3:-$2.p7s}
    openssl cms -sign -binary -in "$file" -signer "$dir/$name.pem" -inkey "$dir/$name.key" -outform DER -out "$out"
    ;;
  *) echo "usage: $0 DIR init|person|revoke|sign ..." >&2; exit 2 ;;
esac
