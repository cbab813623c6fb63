# Sourced by the set-up scripts: install Debian/Ubuntu packages with apt-get (sudo when not root), or say
# what to install where there is no apt-get. Usage: install_packages "<what for>" <package>...
# Returns 1 when the packages could not be installed here (no apt-get), so the caller decides if that is fatal.
install_packages() {
    local purpose="$1"; shift
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "Please install with your package manager ($purpose): $*" >&2
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "Set-up: installing $purpose: $* (apt-get) ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
