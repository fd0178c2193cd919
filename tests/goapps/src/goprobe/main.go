// goprobe prints what the Go runtime decided about its limits, on one line,
// and exits 0. The limits integration tests run it under gorral exec/run to
// check the GOMAXPROCS and GOMEMLIMIT gorral injected. The same source is
// built by Go 1.19 (GOPATH mode) and Go 1.26 (module mode); the line has the
// same keys for both:
//
//	gomaxprocs=N          runtime.GOMAXPROCS(0): the value in force
//	memlimit=N            debug.SetMemoryLimit(-1) (MaxInt64: no limit)
//	numcpu=N              runtime.NumCPU() (the affinity mask at start)
//	go_version=V          runtime.Version()
//	default_gomaxprocs=N  Go >= 1.25: what the runtime picks by itself
//	                      (runtime.SetDefaultGOMAXPROCS: its cgroup-aware
//	                      default, ignoring the GOMAXPROCS variable); "-"
//	                      before Go 1.25, which has no such default
//	gomaxprocs_env=S      unset, used (the variable is one this runtime
//	                      accepts, so it set GOMAXPROCS) or ignored (this
//	                      runtime silently drops the value)
//	env_GOMAXPROCS=S env_GOMEMLIMIT=S   the raw values, last (they may hold
//	                      spaces); an unset variable prints as empty
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

func main() {
	procs := runtime.GOMAXPROCS(0)
	envState := "unset"
	if s, ok := os.LookupEnv("GOMAXPROCS"); ok {
		envState = "ignored"
		if n, valid := gomaxprocsEnv(s); valid && n == procs {
			envState = "used"
		}
	}
	// Last: on Go >= 1.25 this resets GOMAXPROCS to the runtime default.
	def := runtimeDefaultGOMAXPROCS()
	fmt.Printf("gomaxprocs=%d memlimit=%d numcpu=%d go_version=%s default_gomaxprocs=%s gomaxprocs_env=%s env_GOMAXPROCS=%s env_GOMEMLIMIT=%s\n",
		procs, debug.SetMemoryLimit(-1), runtime.NumCPU(), runtime.Version(), def, envState,
		os.Getenv("GOMAXPROCS"), os.Getenv("GOMEMLIMIT"))
}
