// goservice is the demo service that gorral's integration tests, the demo
// and the benchmarks supervise. It can leak goroutines and OS threads, burn
// CPU, allocate memory and exit on request, so that every monitor and
// detector has a real Go process to observe.
//
// -leak-orphans and /leak/orphans leak goroutines blocked on a channel that
// nothing else can reach: a Go 1.26 build with
// GOEXPERIMENT=goroutineleakprofile reports exactly those in
// /debug/pprof/goroutineleak (net/http/pprof serves it when the experiment
// is on), while the -leak-goroutines ones wait on a global channel and so
// never count as leaked there.
//
// -runtime-metrics swaps the default Go collector for one that also exports
// the runtime/metrics /sched/* families (go_sched_goroutines_*_goroutines,
// go_sched_threads_total_threads on Go 1.26, ...), which client_golang
// leaves off by default.
//
// -leak-http-every DUR (with -leak-http-url) leaks the way a real service
// does: every DUR it starts a call to fetchUpstream, an HTTP GET through a
// client with no timeout, to a server that accepts and never answers
// (tests/helpers/hostile.c blackhole). Each call parks three goroutines for
// ever: the caller in fetchUpstream, and its connection's readLoop and
// writeLoop in net/http. /leak/http?n=N&url=URL does the same on demand.
// -leak-threads-every DUR locks one more OS thread every DUR,
// -grow-heap-every DUR retains -grow-heap-mb MiB more every DUR.
//
// -bursts MEAN_GAP,N,HOLD is healthy bursty load: at exponentially
// distributed gaps of mean MEAN_GAP (a Poisson process) it starts N
// goroutines that each live a random time up to HOLD, so the goroutine
// count piles up and returns to its baseline. -noise N keeps up to N
// short-lived goroutines coming and going all the time. -seed makes both
// repeatable.
//
// On start it prints a banner of key=value lines to stdout (pid, go_version,
// num_cpu, gomaxprocs, memory_limit, gc_percent, env_*) and last
// listening=ADDR, the address actually bound (so -listen 127.0.0.1:0 works).
package main

import (
	"encoding/json"
	"expvar"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	leakedGoroutines int64
	leakedOrphans    int64
	leakedThreads    int64
	leakedHTTP       int64 // fetchUpstream calls started and not returned
	returnedHTTP     int64 // fetchUpstream calls that returned (an error or an answer)
	burning          int64
	retainedMu       sync.Mutex
	retained         [][]byte
	block            = make(chan struct{}) // never closed: leaked goroutines wait here
	requests         = expvar.NewInt("requests")
)

func leakGoroutines(n int) {
	for i := 0; i < n; i++ {
		go func() { <-block }()
	}
	atomic.AddInt64(&leakedGoroutines, int64(n))
}

// Each orphan waits on its own channel, which only it references: the
// goroutine leak detector can prove it will never run again.
func leakOrphans(n int) {
	for i := 0; i < n; i++ {
		ch := make(chan struct{})
		go func() { <-ch }()
	}
	atomic.AddInt64(&leakedOrphans, int64(n))
}

// Each leaked thread is a goroutine locked to its M and blocked for ever,
// so the runtime can neither reuse nor free the OS thread.
func leakThreads(n int) {
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			runtime.LockOSThread()
			started.Done()
			<-block
		}()
	}
	started.Wait()
	atomic.AddInt64(&leakedThreads, int64(n))
}

// upstream has no Timeout, and DefaultTransport has no response header
// timeout: a server that accepts and never answers holds the call for
// ever. This is the bug the leak detector is meant to find.
var upstream = &http.Client{}

// fetchUpstream is the leaking function: the grouped goroutine dump of a
// leaking service must name it. noinline keeps it a frame of its own.
//
//go:noinline
func fetchUpstream(url string) {
	atomic.AddInt64(&leakedHTTP, 1)
	resp, err := upstream.Get(url)
	atomic.AddInt64(&leakedHTTP, -1)
	atomic.AddInt64(&returnedHTTP, 1)
	if err != nil {
		log.Printf("fetchUpstream %s: %v", url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func leakHTTP(n int, url string) {
	for i := 0; i < n; i++ {
		go fetchUpstream(url)
	}
}

// every runs f every d, for ever (d <= 0: never).
func every(d time.Duration, f func()) {
	if d <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(d)
		for range t.C {
			f()
		}
	}()
}

// bursts is healthy load: gaps drawn from an exponential distribution of
// mean gap (so bursts arrive as a Poisson process), n goroutines per burst,
// each living a uniform random time in [0, hold).
func bursts(rng *rand.Rand, gap time.Duration, n int, hold time.Duration) {
	for {
		time.Sleep(time.Duration(rng.ExpFloat64() * float64(gap)))
		for i := 0; i < n; i++ {
			d := time.Duration(rng.Int63n(int64(hold) + 1))
			go func() { time.Sleep(d) }()
		}
	}
}

// noise: every 100 ms, up to n goroutines that live up to a second.
func noise(rng *rand.Rand, n int) {
	for {
		time.Sleep(100 * time.Millisecond)
		k := rng.Intn(n/10 + 1)
		for i := 0; i < k; i++ {
			d := time.Duration(rng.Int63n(int64(time.Second)))
			go func() { time.Sleep(d) }()
		}
	}
}

// parseBursts reads MEAN_GAP,N,HOLD ("2s,500,1s").
func parseBursts(s string) (gap time.Duration, n int, hold time.Duration, err error) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return 0, 0, 0, fmt.Errorf("-bursts %q: want MEAN_GAP,N,HOLD", s)
	}
	if gap, err = time.ParseDuration(f[0]); err != nil || gap <= 0 {
		return 0, 0, 0, fmt.Errorf("-bursts %q: bad MEAN_GAP", s)
	}
	if n, err = strconv.Atoi(f[1]); err != nil || n < 0 {
		return 0, 0, 0, fmt.Errorf("-bursts %q: bad N", s)
	}
	if hold, err = time.ParseDuration(f[2]); err != nil || hold < 0 {
		return 0, 0, 0, fmt.Errorf("-bursts %q: bad HOLD", s)
	}
	return gap, n, hold, nil
}

func burn(d time.Duration, workers int) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		atomic.AddInt64(&burning, 1)
		go func() {
			defer wg.Done()
			defer atomic.AddInt64(&burning, -1)
			x := uint64(1)
			for time.Now().Before(deadline) {
				for j := 0; j < 100000; j++ {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			_ = x
		}()
	}
	wg.Wait()
}

// alloc retains mb MiB and touches every page so it counts in RSS.
func alloc(mb int) {
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		retainedMu.Lock()
		retained = append(retained, b)
		retainedMu.Unlock()
	}
}

func intParam(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad %s=%q", name, s)
	}
	return v, nil
}

func floatParam(r *http.Request, name string, def float64) (float64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad %s=%q", name, s)
	}
	return v, nil
}

func threadCount() int {
	n, _ := runtime.ThreadCreateProfile(nil)
	return n
}

func stats() map[string]interface{} {
	retainedMu.Lock()
	mb := len(retained)
	retainedMu.Unlock()
	return map[string]interface{}{
		"pid":               os.Getpid(),
		"go_version":        runtime.Version(),
		"num_cpu":           runtime.NumCPU(),
		"gomaxprocs":        runtime.GOMAXPROCS(0),
		"memlimit":          debug.SetMemoryLimit(-1),
		"numgoroutine":      runtime.NumGoroutine(),
		"threads":           threadCount(),
		"leaked_goroutines": atomic.LoadInt64(&leakedGoroutines),
		"leaked_threads":    atomic.LoadInt64(&leakedThreads),
		"leaked_orphans":    atomic.LoadInt64(&leakedOrphans),
		"leaked_http":       atomic.LoadInt64(&leakedHTTP),
		"returned_http":     atomic.LoadInt64(&returnedHTTP),
		"burning_workers":   atomic.LoadInt64(&burning),
		"retained_mb":       mb,
	}
}

func handle(pattern string, f func(w http.ResponseWriter, r *http.Request) error) {
	http.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if err := f(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "HTTP listen address (port 0: any free port)")
	nLeakG := flag.Int("leak-goroutines", 0, "leak N goroutines at start")
	nLeakO := flag.Int("leak-orphans", 0, "leak N goroutines on unreachable channels at start")
	nLeakT := flag.Int("leak-threads", 0, "leak N locked OS threads at start")
	burnFor := flag.Duration("burn", 0, "burn CPU on GOMAXPROCS workers for this long at start")
	graceful := flag.Bool("graceful", false, "on SIGTERM/SIGINT log and exit 0 (default: die by the signal)")
	exitAfter := flag.Duration("exit-after", 0, "exit after this long (0: never)")
	exitCode := flag.Int("exit-code", 0, "exit status for -exit-after")
	runtimeMetrics := flag.Bool("runtime-metrics", false, "also export runtime/metrics /sched/* (go_sched_*) on /metrics")
	logEvery := flag.Duration("log-every", 0, "log a numbered line to stderr every DUR from each of 3 goroutines (their lines land between the pieces of GODEBUG trace lines)")
	leakHTTPEvery := flag.Duration("leak-http-every", 0, "every DUR, leak one fetchUpstream call (HTTP GET, no timeout) to -leak-http-url")
	leakHTTPURL := flag.String("leak-http-url", "", "the URL fetchUpstream calls (a server that never answers: hostile blackhole)")
	leakThreadsEvery := flag.Duration("leak-threads-every", 0, "lock one more OS thread every DUR")
	growHeapEvery := flag.Duration("grow-heap-every", 0, "retain -grow-heap-mb MiB more every DUR")
	growHeapMB := flag.Int("grow-heap-mb", 1, "MiB retained at each -grow-heap-every")
	burstSpec := flag.String("bursts", "", "MEAN_GAP,N,HOLD: Poisson bursts of N goroutines, each held up to HOLD")
	noiseN := flag.Int("noise", 0, "keep up to about N short-lived goroutines coming and going")
	seed := flag.Int64("seed", 0, "seed for -bursts and -noise (0: from the clock)")
	flag.Parse()
	if *leakHTTPEvery > 0 && *leakHTTPURL == "" {
		log.Printf("-leak-http-every needs -leak-http-url")
		os.Exit(2)
	}
	var bGap, bHold time.Duration
	var bN int
	if *burstSpec != "" {
		var err error
		if bGap, bN, bHold, err = parseBursts(*burstSpec); err != nil {
			log.Print(err)
			os.Exit(2)
		}
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}

	if *runtimeMetrics {
		prometheus.Unregister(collectors.NewGoCollector())
		prometheus.MustRegister(collectors.NewGoCollector(
			collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler)))
	}

	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Printf("listen %s: %v", *listen, err)
		os.Exit(1)
	}

	if *graceful {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			s := <-sigs
			log.Printf("received %v, exiting gracefully", s)
			os.Exit(0)
		}()
	}
	if *logEvery > 0 {
		for w := 0; w < 3; w++ {
			go func(w int) {
				for i := 0; ; i++ {
					log.Printf("worker %d line %d", w, i)
					time.Sleep(*logEvery)
				}
			}(w)
		}
	}
	if *exitAfter > 0 {
		code := *exitCode
		time.AfterFunc(*exitAfter, func() {
			log.Printf("exit-after %v elapsed, exiting with status %d", *exitAfter, code)
			os.Exit(code)
		})
	}
	if *nLeakG > 0 {
		leakGoroutines(*nLeakG)
	}
	if *nLeakO > 0 {
		leakOrphans(*nLeakO)
	}
	if *nLeakT > 0 {
		leakThreads(*nLeakT)
	}
	if *burnFor > 0 {
		go burn(*burnFor, runtime.GOMAXPROCS(0))
	}
	every(*leakHTTPEvery, func() { leakHTTP(1, *leakHTTPURL) })
	every(*leakThreadsEvery, func() { leakThreads(1) })
	every(*growHeapEvery, func() { alloc(*growHeapMB) })
	if *burstSpec != "" {
		go bursts(rand.New(rand.NewSource(*seed)), bGap, bN, bHold)
	}
	if *noiseN > 0 {
		go noise(rand.New(rand.NewSource(*seed+1)), *noiseN)
	}

	http.Handle("/metrics", promhttp.Handler())
	http.Handle("/metrics-om", promhttp.HandlerFor(prometheus.DefaultGatherer,
		promhttp.HandlerOpts{EnableOpenMetrics: true}))
	handle("/leak/goroutines", func(w http.ResponseWriter, r *http.Request) error {
		n, err := intParam(r, "n", 100)
		if err != nil {
			return err
		}
		leakGoroutines(n)
		fmt.Fprintf(w, "leaked %d goroutines, total %d, numgoroutine %d\n", n,
			atomic.LoadInt64(&leakedGoroutines), runtime.NumGoroutine())
		return nil
	})
	handle("/leak/orphans", func(w http.ResponseWriter, r *http.Request) error {
		n, err := intParam(r, "n", 100)
		if err != nil {
			return err
		}
		leakOrphans(n)
		fmt.Fprintf(w, "leaked %d orphan goroutines, total %d, numgoroutine %d\n", n,
			atomic.LoadInt64(&leakedOrphans), runtime.NumGoroutine())
		return nil
	})
	handle("/leak/http", func(w http.ResponseWriter, r *http.Request) error {
		n, err := intParam(r, "n", 10)
		if err != nil {
			return err
		}
		url := r.URL.Query().Get("url")
		if url == "" {
			url = *leakHTTPURL
		}
		if url == "" {
			return fmt.Errorf("no url= and no -leak-http-url")
		}
		leakHTTP(n, url)
		fmt.Fprintf(w, "leaking %d fetchUpstream calls to %s, numgoroutine %d\n", n, url, runtime.NumGoroutine())
		return nil
	})
	handle("/leak/threads", func(w http.ResponseWriter, r *http.Request) error {
		n, err := intParam(r, "n", 10)
		if err != nil {
			return err
		}
		leakThreads(n)
		fmt.Fprintf(w, "leaked %d threads, total %d, threads %d\n", n,
			atomic.LoadInt64(&leakedThreads), threadCount())
		return nil
	})
	// /burn returns at once; &wait=1 returns when the burn is over.
	handle("/burn", func(w http.ResponseWriter, r *http.Request) error {
		secs, err := floatParam(r, "seconds", 1)
		if err != nil {
			return err
		}
		workers, err := intParam(r, "workers", runtime.GOMAXPROCS(0))
		if err != nil {
			return err
		}
		d := time.Duration(secs * float64(time.Second))
		if r.URL.Query().Get("wait") == "1" {
			burn(d, workers)
			fmt.Fprintf(w, "burned %v on %d workers\n", d, workers)
		} else {
			go burn(d, workers)
			fmt.Fprintf(w, "burning %v on %d workers\n", d, workers)
		}
		return nil
	})
	handle("/alloc", func(w http.ResponseWriter, r *http.Request) error {
		mb, err := intParam(r, "mb", 10)
		if err != nil {
			return err
		}
		alloc(mb)
		retainedMu.Lock()
		total := len(retained)
		retainedMu.Unlock()
		fmt.Fprintf(w, "retained %d MiB more, %d MiB in total\n", mb, total)
		return nil
	})
	handle("/gc", func(w http.ResponseWriter, r *http.Request) error {
		runtime.GC()
		fmt.Fprintln(w, "gc done")
		return nil
	})
	// /exit answers first, then exits, so the client sees a response.
	handle("/exit", func(w http.ResponseWriter, r *http.Request) error {
		code, err := intParam(r, "code", 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "exiting with status %d\n", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			log.Printf("/exit requested, exiting with status %d", code)
			os.Exit(code)
		}()
		return nil
	})
	handle("/stats", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(stats())
	})

	// SetGCPercent has no getter: read the value by setting and restoring it.
	gcPercent := debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	fmt.Printf("pid=%d\ngo_version=%s\nnum_cpu=%d\ngomaxprocs=%d\nmemory_limit=%d\ngc_percent=%d\n",
		os.Getpid(), runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0),
		debug.SetMemoryLimit(-1), gcPercent)
	fmt.Printf("env_GOMAXPROCS=%q env_GOMEMLIMIT=%q env_GOGC=%q\n",
		os.Getenv("GOMAXPROCS"), os.Getenv("GOMEMLIMIT"), os.Getenv("GOGC"))
	fmt.Printf("listening=%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}
