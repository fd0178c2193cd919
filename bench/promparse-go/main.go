// promparse times prometheus/common's expfmt.TextParser, the parser the
// Prometheus ecosystem's Go tools use for the text format (Debian 12's
// golang-github-prometheus-common-dev 0.39, built offline in GOPATH mode by
// bench/promparse.sh), over the same captures and with the same clocks as
// bench/promparse.c, so that the two can be set side by side.
//
// For each file: one parse to check it, then -n parses timed; prints one
// line "name=... bytes=... iters=... cpu_ns=... wall_ns=... samples=...".
// CPU time is the process's (user+system, getrusage), so the GC's work on
// other threads counts, as it would in a real scraper.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
)

func cpuNs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func main() {
	iters := flag.Int("n", 20000, "timed parses per file")
	flag.Parse()
	for _, f := range flag.Args() {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var p expfmt.TextParser
		mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
			os.Exit(1)
		}
		samples := 0
		for _, mf := range mfs {
			samples += len(mf.GetMetric())
		}
		c0, w0 := cpuNs(), time.Now()
		for i := 0; i < *iters; i++ {
			if _, err := p.TextToMetricFamilies(bytes.NewReader(data)); err != nil {
				panic(err)
			}
		}
		cpu, wall := cpuNs()-c0, time.Since(w0).Nanoseconds()
		fmt.Printf("name=%s bytes=%d iters=%d cpu_ns=%d wall_ns=%d samples=%d\n",
			filepath.Base(f), len(data), *iters, cpu, wall, samples)
	}
}
