# SPDX-License-Identifier: MIT
# Real servers on loopback for the remote-target tests, each in $WORK and stopped with the
# test. Sourced after lib.sh, not run.

# A port nothing listens on now (a race with other programs is possible, not likely).
# Below the kernel's range for outgoing connections' own ports: a port there may be in use by
# a connection (bind fails with EADDRINUSE) though nothing listens on it.
free_port() {
    local p low
    read -r low _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
    [ "$low" -gt 11000 ] || low=32768
    while :; do
        p=$((10000 + RANDOM % (low - 10000)))
        (echo > "/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# start_nginx: serves $WORK/www on $NGINX_PORT with JSON directory listings; /broken/ answers
# 500, /private/ wants "Authorization: Bearer s3cret", /slow/ answers 10 requests a second
# (nginx holds the others back, in order) but /slow/0fail/ answers 500 at once. $NGINX_EXTRA
# goes into its server block as it is.
start_nginx() {
    command -v nginx >/dev/null || { echo "SKIP: nginx is needed" >&2; exit 77; }
    NGINX_PORT=${NGINX_PORT:-$(free_port)}
    mkdir -p "$WORK/www" "$WORK/nginx"
    cat > "$WORK/nginx/nginx.conf" <<CONF
daemon off;
user root;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 256; }
http {
    access_log $WORK/nginx/access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    limit_req_zone \$server_port zone=slow:64k rate=10r/s;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
        autoindex on;
        autoindex_format json;
        location /broken/ { return 500; }
        location /slow/ { limit_req zone=slow burst=10000; }
        location /slow/0fail/ { return 500; }
        ${NGINX_EXTRA:-}
        location /private/ {
            if (\$http_authorization != "Bearer s3cret") { return 401; }
        }
    }
}
CONF
    nginx -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
    NGINX_PID=$!
    # Generous: a loaded CI machine once took more than 10 s here. A dead nginx (a port taken
    # meanwhile, say) fails at once, with its own words.
    wait_for 30 "nginx to listen" nginx_up_or_gone
    kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx ended: $(cat "$WORK/nginx/error.log")"
}
nginx_up() { (echo > "/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; }
nginx_up_or_gone() { nginx_up || ! kill -0 "$NGINX_PID" 2>/dev/null; }
stop_nginx() {
    [ -n "${NGINX_PID:-}" ] || return 0
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
}

# start_staller: accepts connections on $STALL_PORT and never answers (a hung server).
start_staller() {
    STALL_PORT=$(free_port)
    python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$STALL_PORT" &
    STALL_PID=$!
    wait_for 10 "the stalling server to listen" staller_up
}
staller_up() { (echo > "/dev/tcp/127.0.0.1/$STALL_PORT") 2>/dev/null; }

# start_silent_dns: a DNS server on 127.0.0.2:53 that takes queries and never answers (the DNS
# server of a network in trouble); each query's arrival is a line of $WORK/dns-queries.
start_silent_dns() {
    : > "$WORK/dns-queries"; rm -f "$WORK/dns-queries.ready"
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 53))
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[1], "a", buffering=1) as log:
    while True:
        s.recvfrom(4096); log.write("query\n")
' "$WORK/dns-queries" &
    DNS_PID=$!
    wait_for 10 "the silent DNS server to listen" dns_up
}
dns_up() { [ -e "$WORK/dns-queries.ready" ]; }
stop_servers() {
    stop_nginx
    stop_s3rver
    stop_postgres
    [ -n "${STALL_PID:-}" ] && kill "$STALL_PID" 2>/dev/null || true
    [ -n "${DNS_PID:-}" ] && kill "$DNS_PID" 2>/dev/null || true
}

# start_s3rver: s3rver (from npm, installed by contrib/install-deps) on $S3_PORT with the
# bucket "test"; it checks the access key id (S3RVER), not the signature.
S3RVER=${S3RVER_DIR:-/var/cache/sluice-test/npm}/node_modules/.bin/s3rver
start_s3rver() {
    [ -x "$S3RVER" ] || { echo "SKIP: s3rver is needed (contrib/install-deps)" >&2; exit 77; }
    S3_PORT=${S3_PORT:-$(free_port)}      # the same again after a stop
    mkdir -p "$WORK/s3"
    # Its continuation tokens use a cipher OpenSSL 3 keeps in its legacy provider.
    NODE_OPTIONS=--openssl-legacy-provider \
        "$S3RVER" --directory "$WORK/s3" --address 127.0.0.1 --port "$S3_PORT" \
        --configure-bucket test >>"$WORK/s3rver.log" 2>&1 &
    S3_PID=$!
    wait_for 30 "s3rver to listen" s3_up
}
s3_up() { (echo > "/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; }
# s3_put KEY < DATA: an object into the bucket "test", signed as the daemon signs.
s3_put() {
    curl -sf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER \
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --data-binary @- \
        "http://127.0.0.1:$S3_PORT/test/$1" >/dev/null
}
stop_s3rver() {
    [ -n "${S3_PID:-}" ] || return 0
    kill "$S3_PID" 2>/dev/null || true
    wait "$S3_PID" 2>/dev/null || true
    S3_PID=
}

# start_postgres: a PostgreSQL cluster of the test's own on 127.0.0.1:$PG_PORT (trust
# authentication for the role postgres), with contrib/postgres/marker-table.sql loaded.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
start_postgres() {
    [ -x "$PG_BIN/initdb" ] || { echo "SKIP: PostgreSQL is needed" >&2; exit 77; }
    PG_PORT=${PG_PORT:-$(free_port)}
    if [ ! -d "$WORK/pg" ]; then
        mkdir -p "$WORK/pg"
        chown postgres: "$WORK/pg"
        chmod 755 "$WORK"      # the server runs as postgres
        runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U postgres \
            >"$WORK/pg/initdb.log" 2>&1 || fail "initdb: $(tail -n 5 "$WORK/pg/initdb.log")"
    fi
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
        -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null ||
        fail "postgres did not start: $(tail -n 5 "$WORK/pg/server.log")"
    PG_STARTED=1
}
# psql_do SQL: as the role postgres.
psql_do() {
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "$1"
}
stop_postgres() {
    [ -n "${PG_STARTED:-}" ] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    PG_STARTED=
}
