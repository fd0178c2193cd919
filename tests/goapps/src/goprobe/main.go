// goprobe prints what the Go runtime decided about its limits, on one line,
// and exits 0. The limits integration tests run it under gorral exec/run to
// check the GOMAXPROCS and GOMEMLIMIT gorral injected.
//
// The env_ values are printed raw; an unset variable prints as empty (use
// the environment itself to tell unset from empty).
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

func main() {
	fmt.Printf("gomaxprocs=%d memlimit=%d numcpu=%d env_GOMAXPROCS=%s env_GOMEMLIMIT=%s\n",
		runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1), runtime.NumCPU(),
		os.Getenv("GOMAXPROCS"), os.Getenv("GOMEMLIMIT"))
}
