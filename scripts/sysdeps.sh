#!/bin/sh
# Installs the Debian packages recap needs, when missing and apt is usable.
# libharfbuzz-subset0: faster WeasyPrint font subsetting; poppler-utils: PDF checks and
# screenshots; chromium: HTML screenshots and tests; fonts: the report's typefaces.
# Java runs the Nu HTML checker, node and npm install and run axe-core (tests/package.json);
# each is asked for only when its command is missing (nodejs may come from elsewhere).
PACKAGES="libharfbuzz-subset0 poppler-utils chromium fonts-inter fonts-dejavu-core"
command -v java >/dev/null 2>&1 || PACKAGES="$PACKAGES default-jre-headless"
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "recap: missing system packages:$missing (no apt-get here; install them by hand)" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  SUDO="sudo -n"
  $SUDO true 2>/dev/null || {
    echo "recap: missing system packages:$missing; run: sudo apt-get install$missing" >&2
    exit 0
  }
fi
echo "recap: installing system packages:$missing"
${SUDO:-} apt-get update -qq >/dev/null || echo "recap: apt-get update failed; trying the install anyway" >&2
DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq --no-install-recommends $missing >/dev/null \
  || echo "recap: could not install$missing; tests that need them will be skipped" >&2
exit 0
