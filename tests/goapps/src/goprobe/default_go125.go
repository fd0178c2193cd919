//go:build go1.25

package main

import (
	"runtime"
	"strconv"
)

// runtimeDefaultGOMAXPROCS: the runtime's own default (Go >= 1.25: from the
// CPU count, the affinity mask and the leaf cgroup's CPU quota), which
// SetDefaultGOMAXPROCS applies whatever the environment says. It changes
// GOMAXPROCS, so main calls it after reading the value in force.
func runtimeDefaultGOMAXPROCS() string {
	runtime.SetDefaultGOMAXPROCS()
	return strconv.Itoa(runtime.GOMAXPROCS(0))
}

// gomaxprocsEnv parses GOMAXPROCS as Go >= 1.25's schedinit does:
// strconv.ParseInt(s, 10, 32), and only a value > 0 counts.
func gomaxprocsEnv(s string) (int, bool) {
	n, err := strconv.ParseInt(s, 10, 32)
	return int(n), err == nil && n > 0
}
