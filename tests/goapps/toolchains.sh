# Sourced by build.sh and the tests: the two Go toolchains, by path. `go`
# on PATH may be either one, so nothing here or in the tests runs it.
#   GO119  Debian's Go 1.19 (golang-go): GOPATH mode, offline, Debian's
#          client_golang 1.14 under /usr/share/gocode.
#   GO126  Go 1.26 at /usr/local/go: module mode through the Go module
#          proxy; its runtime sizes GOMAXPROCS from the cgroup itself.
# Either may be overridden from the environment (another install path).
GO119=${GO119:-/usr/lib/go-1.19/bin/go}
GO126=${GO126:-/usr/local/go/bin/go}
