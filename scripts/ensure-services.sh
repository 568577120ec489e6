#!/usr/bin/env bash
# Make sure the real services the test suite talks to are answering on 127.0.0.1:
# PostgreSQL on 5432, Redis on 6379 and MariaDB on 3306, plus Debian's docker-compose (to
# validate the compose file), Debian's Chromium (for the browser tests), Debian's WordPress
# with PHP (for the WordPress plugin's tests) and nginx (the compose file's proxy). Starts
# what is installed but stopped;
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

# The WordPress plugin's tests: Debian's WordPress (6.1) and PHP, served by PHP's built-in
# web server, on MariaDB (each run makes and drops a database of its own). Debian's wordpress
# package also brings Apache, which the tests do not use.
wordpress_missing=()
[ -f /usr/share/wordpress/wp-settings.php ] || wordpress_missing+=(wordpress)
[ -d /usr/share/wordpress/wp-content/themes/twentytwentyone ] ||
  wordpress_missing+=(wordpress-theme-twentytwentyone)
command -v php >/dev/null || wordpress_missing+=(php-cli)
for extension in mysqli curl mbstring xml; do
  php -m 2>/dev/null | grep -qx "$extension" || wordpress_missing+=("php-${extension/mysqli/mysql}")
done
command -v mariadb >/dev/null || wordpress_missing+=(mariadb-client)
[ -x /usr/sbin/mariadbd ] || wordpress_missing+=(mariadb-server)
if [ ${#wordpress_missing[@]} -gt 0 ]; then
  apt_install "${wordpress_missing[@]}"
fi
if ! answers 127.0.0.1 3306; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB 3306
fi
if ! mariadb -h 127.0.0.1 -P 3306 -u root -e 'select 1' >/dev/null 2>&1; then
  echo "ensure-services: MariaDB answers but 'mariadb -h 127.0.0.1 -u root' fails;" \
    "the WordPress tests need root with an empty password on 127.0.0.1" >&2
  exit 1
fi
# The npm Perspective client's test runs under the machine's Node.js (tests/integrations/perspective).
{ command -v node && command -v npm; } >/dev/null || apt_install nodejs npm
# The compose file's reverse proxy config (deploy/proxy.conf) is tested in Debian's nginx.
[ -x /usr/sbin/nginx ] || apt_install nginx-light
echo "ensure-services: PostgreSQL, Redis, MariaDB, docker-compose, Chromium, WordPress, PHP, Node.js and nginx are ready"
