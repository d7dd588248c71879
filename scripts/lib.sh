# Shared by the scripts in this folder: where downloads are cached, and the
# cached Python virtual environments their tools are installed into.

CACHE="${FRONTDESK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/frontdesk}"

die() { echo "scripts/$(basename "$0"): $*" >&2; exit 1; }

# ensure_venv REQUIREMENTS NAME: installs exactly REQUIREMENTS into a venv
# under the cache (one per version of the file) and prints its path. A
# virtual environment cannot be moved once made, so it is made in place and
# marked complete only when every package is in.
ensure_venv() {
  local requirements=$1 name=$2 hash venv
  command -v python3 >/dev/null || die "Python 3 installs $name; install it (Debian: apt-get install python3-venv)"
  hash=$(sha256sum "$requirements" | cut -c1-16)
  venv="$CACHE/$name-venv-$hash"
  if [ ! -f "$venv/.complete" ]; then
    echo "scripts/$(basename "$0"): installing $name ($requirements) into $venv" >&2
    mkdir -p "$CACHE"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || die "python3 could not make a virtual environment"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2 \
      || { rm -rf "$venv"; die "pip could not install $requirements"; }
    touch "$venv/.complete"
  fi
  echo "$venv"
}

# npm_install FOLDER: installs exactly what FOLDER/package-lock.json pins
# into the cache (once per version of the lock) and prints where.
npm_install() {
  local folder=$1 hash dir work
  command -v npm >/dev/null || die "npm installs $folder; install Node.js and npm (Debian: apt-get install nodejs npm)"
  hash=$(sha256sum "$folder/package-lock.json" | cut -c1-16)
  dir="$CACHE/$(basename "$folder")-$hash"
  if [ ! -f "$dir/.complete" ]; then
    echo "scripts/$(basename "$0"): installing $folder into $dir" >&2
    mkdir -p "$CACHE"
    work=$(mktemp -d "$CACHE/fetch.XXXXXX")
    cp "$folder/package.json" "$folder/package-lock.json" "$work"/
    (cd "$work" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null) \
      || { rm -rf "$work"; die "npm could not install $folder"; }
    touch "$work/.complete"
    rm -rf "$dir" && mv "$work" "$dir"
  fi
  echo "$dir"
}

# ensure_browser: Debian's Chromium and ChromeDriver (installed with apt-get
# when missing) and axe-core (pinned by scripts/browser/package-lock.json),
# for the example site's tests in a real browser.
ensure_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    command -v apt-get >/dev/null || die "the browser tests need Chromium and ChromeDriver; install them (Debian: apt-get install chromium chromium-driver)"
    echo "scripts/$(basename "$0"): installing Debian's chromium and chromium-driver"
    $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null \
      || die "apt-get could not install chromium and chromium-driver"
  fi
  export CHROMIUM="$(command -v chromium)" CHROMEDRIVER="$(command -v chromedriver)"
  export AXE_CORE_JS="$(npm_install scripts/browser)/node_modules/axe-core/axe.min.js"
  [ -f "$AXE_CORE_JS" ] || die "scripts/browser installs no axe-core"
}

# wait_for_port NAME PID PORT LOG: waits up to 20 s for the process PID to
# listen on the loopback PORT; dies with its LOG if it exits or never does.
wait_for_port() {
  local name=$1 pid=$2 port=$3 log=$4
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$name did not start"; }
    sleep 0.2
  done
  cat "$log" >&2
  die "$name is not answering on port $port"
}

# start_emulators: fetches (once, into the cache) and starts DynamoDB Local
# (the official jar shipped in the npm package amplify-dynamodb-simulator)
# and the SES v2 emulator aws-ses-v2-local (pinned by
# scripts/emulators/package-lock.json) on free loopback ports, points the
# AWS SDK's environment at them, and stops them when the script exits.
start_emulators() {
  DDB_PACKAGE=amplify-dynamodb-simulator@2.9.30
  DDB_DIR="$CACHE/dynamodb-local-2.9.30"

  command -v java >/dev/null || die "Java 17 or later runs DynamoDB Local; install it (Debian: apt-get install openjdk-17-jre-headless)"
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "Node.js and npm fetch DynamoDB Local and run the SES v2 emulator; install them (Debian: apt-get install nodejs npm)"
  java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [ "${java_major:-0}" -ge 17 ] || die "Java 17 or later is required, found: $(java -version 2>&1 | head -n1)"

  if [ ! -f "$DDB_DIR/DynamoDBLocal.jar" ]; then
    echo "scripts/$(basename "$0"): fetching DynamoDB Local ($DDB_PACKAGE) into $DDB_DIR"
    mkdir -p "$CACHE"
    work=$(mktemp -d "$CACHE/fetch.XXXXXX")
    (cd "$work" && npm pack --silent "$DDB_PACKAGE" >/dev/null) || { rm -rf "$work"; die "npm could not fetch $DDB_PACKAGE"; }
    tar -xzf "$work"/*.tgz -C "$work"
    [ -f "$work/package/emulator/DynamoDBLocal.jar" ] || { rm -rf "$work"; die "$DDB_PACKAGE holds no DynamoDBLocal.jar"; }
    rm -rf "$DDB_DIR" && mv "$work/package/emulator" "$DDB_DIR" && rm -rf "$work"
  fi

  # The SES v2 emulator, installed exactly as the lock file pins it.
  SES_CLI="$(npm_install scripts/emulators)/node_modules/aws-ses-v2-local/dist/cli.js"
  [ -f "$SES_CLI" ] || die "scripts/emulators installs no aws-ses-v2-local"

  free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
  port=$(free_port)
  # Its own folder: DynamoDB Local writes files into its working directory.
  ddb_work=$(mktemp -d "${TMPDIR:-/tmp}/dynamodb-local.XXXXXX")
  log="$ddb_work/dynamodb-local.log"
  (cd "$ddb_work" && DDB_LOCAL_TELEMETRY=0 exec java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
    -jar "$DDB_DIR/DynamoDBLocal.jar" -inMemory -disableTelemetry -port "$port") >"$log" 2>&1 &
  ddb_pid=$!
  ses_pid=
  moto_pid=
  stop() {
    kill "$ddb_pid" $ses_pid $moto_pid 2>/dev/null || true
    wait "$ddb_pid" $ses_pid $moto_pid 2>/dev/null || true
    rm -rf "$ddb_work"
  }
  trap stop EXIT INT TERM

  wait_for_port "DynamoDB Local" "$ddb_pid" "$port" "$log"
  echo "scripts/$(basename "$0"): DynamoDB Local on 127.0.0.1:$port"

  ses_port=$(free_port)
  ses_log="$ddb_work/ses-v2-local.log"
  node "$SES_CLI" --host 127.0.0.1 --port "$ses_port" >"$ses_log" 2>&1 &
  ses_pid=$!
  wait_for_port "the SES v2 emulator" "$ses_pid" "$ses_port" "$ses_log"
  echo "scripts/$(basename "$0"): SES v2 emulator on 127.0.0.1:$ses_port"

  # moto's server for Cognito's API, which `frontdesk staff` manages users through.
  moto_venv=$(ensure_venv scripts/moto/requirements.txt moto)
  moto_port=$(free_port)
  moto_log="$ddb_work/moto.log"
  "$moto_venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$moto_log" 2>&1 &
  moto_pid=$!
  wait_for_port "moto's server" "$moto_pid" "$moto_port" "$moto_log"
  echo "scripts/$(basename "$0"): moto (Cognito, Secrets Manager) on 127.0.0.1:$moto_port"

  # The tests reach AWS only through these: never a real account. (DynamoDB
  # Local takes access keys of letters and digits only.)
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$ses_port"
  export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="http://127.0.0.1:$moto_port"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$moto_port"
  # Tests that stop and restart an emulator of their own start it with these.
  export SES_EMULATOR_CLI="$SES_CLI"
  export DYNAMODB_LOCAL_DIR="$DDB_DIR"
  export AWS_ACCESS_KEY_ID=frontdesktest AWS_SECRET_ACCESS_KEY=frontdesktest
  export AWS_REGION=eu-west-2 AWS_EC2_METADATA_DISABLED=true
}
