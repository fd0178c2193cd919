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
//
// With -check, each file is parsed once and judged: "ACCEPT FILE SAMPLES"
// or "REJECT FILE LINE MESSAGE" (expfmt's ParseError line), as
// bench/promparse -check judges it with gorral's parser.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func cpuNs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// samples counts the lines the families came from: one per counter, gauge
// or untyped metric; a summary's quantiles, a histogram's buckets, and
// the _sum and _count lines that were there.
func samples(mfs map[string]*dto.MetricFamily) int {
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Summary != nil:
				n += len(m.Summary.GetQuantile())
				if m.Summary.SampleSum != nil {
					n++
				}
				if m.Summary.SampleCount != nil {
					n++
				}
			case m.Histogram != nil:
				n += len(m.Histogram.GetBucket())
				if m.Histogram.SampleSum != nil {
					n++
				}
				if m.Histogram.SampleCount != nil {
					n++
				}
			default:
				n++
			}
		}
	}
	return n
}

func main() {
	iters := flag.Int("n", 20000, "timed parses per file")
	check := flag.Bool("check", false, "only say whether each file parses, and where it fails")
	flag.Parse()
	if *check {
		for _, f := range flag.Args() {
			data, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			var p expfmt.TextParser
			mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
			if pe, ok := err.(expfmt.ParseError); ok {
				fmt.Printf("REJECT %s %d %s\n", f, pe.Line, strings.ReplaceAll(pe.Msg, "\n", `\n`))
			} else if err != nil {
				fmt.Printf("REJECT %s 0 %s\n", f, strings.ReplaceAll(err.Error(), "\n", `\n`))
			} else {
				fmt.Printf("ACCEPT %s %d\n", f, samples(mfs))
			}
		}
		return
	}
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
		c0, w0 := cpuNs(), time.Now()
		for i := 0; i < *iters; i++ {
			if _, err := p.TextToMetricFamilies(bytes.NewReader(data)); err != nil {
				panic(err)
			}
		}
		cpu, wall := cpuNs()-c0, time.Since(w0).Nanoseconds()
		fmt.Printf("name=%s bytes=%d iters=%d cpu_ns=%d wall_ns=%d samples=%d\n",
			filepath.Base(f), len(data), *iters, cpu, wall, samples(mfs))
	}
}
