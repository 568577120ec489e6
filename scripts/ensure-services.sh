#!/usr/bin/env bash
# Make sure the real services the test suite talks to are answering on 127.0.0.1:
# PostgreSQL on 5432 and Redis on 6379, plus Debian's docker-compose (to validate the compose
# file), Debian's Chromium (for the browser tests) and nginx (the compose file's proxy). Starts what is installed but stopped;
# installs what is missing when run as root on Debian. Exits non-zero when a service cannot be
# had, so tests fail rather than skip.
set -euo pipefail

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for() { # name port
  for _ in $(seq 1 60); do
    answers 127.0.0.1 "$2" && return 0
    sleep 0.5
  done
  echo "ensure-services: $1 is not answering on 127.0.0.1:$2" >&2
  return 1
}

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "ensure-services: please install $* (Debian: apt-get install $*)" >&2
    return 1
  fi
  if [ ! -f /var/lib/apt/periodic/.ensure-services-updated ]; then
    apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/.ensure-services-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! answers 127.0.0.1 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  cluster_version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start || true
  wait_for PostgreSQL 5432
fi
# The suite connects as the postgres role without a password, as this machine is set up.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  echo "ensure-services: PostgreSQL answers but 'psql -h 127.0.0.1 -U postgres' fails;" \
    "the tests need trust auth for postgres on 127.0.0.1" >&2
  exit 1
fi

if ! answers 127.0.0.1 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis 6379
fi

command -v docker-compose >/dev/null || apt_install docker-compose
# Browser tests drive Debian's Chromium through Playwright; no browser is ever downloaded.
[ -x /usr/bin/chromium ] || apt_install chromium
# The compose file's reverse proxy config (deploy/proxy.conf) is tested in Debian's nginx.
[ -x /usr/sbin/nginx ] || apt_install nginx-light
echo "ensure-services: PostgreSQL, Redis, docker-compose, Chromium and nginx are ready"
