// gohelper: the small Go programs the container tests and the multi-service
// image need, in one static binary (CGO_ENABLED=0), since a scratch image
// has no shell to stand in for them. One mode per invocation:
//
//	gohelper serve [-term-exit N] [-ignore-term]
//	    log "ready pid=P" on stderr, then one "signal=NAME" line for every
//	    signal of HUP INT QUIT USR1 USR2 TERM WINCH it gets. On TERM it exits
//	    N (default 0), or with -ignore-term logs it and keeps running (only
//	    SIGKILL ends it). Stands for a service whose stop and exit code the
//	    tests check through docker stop, docker kill and docker inspect.
//	gohelper sidecar
//	    serve with the defaults, under a name that reads well in a config.
//	gohelper orphans N [-linger DUR]
//	    start N copies of itself in "sleep DUR" mode (default 200ms) and exit
//	    at once without waiting for them: they are re-parented to the PID
//	    namespace's init, and become its zombies when they exit unless it
//	    reaps them.
//	gohelper sleep DUR
//	    sleep, exit 0.
//	gohelper zombies
//	    print "zombies=Z procs=P": of the processes of this PID namespace
//	    (/proc), not counting itself, Z are in state Z and P is how many
//	    there are in all (so a caller knows when orphans are gone too).
//	gohelper migrate [-duration DUR] [-exit N]
//	    log "migrate: start", work DUR (default 300ms), log "migrate: done"
//	    and exit N (default 0): a one-shot job that must finish first.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gohelper: "+format+"\n", args...)
}

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	termExit := fs.Int("term-exit", 0, "exit status on SIGTERM")
	ignoreTerm := fs.Bool("ignore-term", false, "log SIGTERM and keep running")
	fs.Parse(args)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGWINCH)
	logf("ready pid=%d", os.Getpid())
	for s := range sigs {
		sig := s.(syscall.Signal)
		logf("signal=%s", signalName(sig))
		if sig == syscall.SIGTERM && !*ignoreTerm {
			logf("exiting with status %d", *termExit)
			return *termExit
		}
	}
	return 0
}

// signalName: the short name the tests grep for (USR1, not Go's prose).
func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGQUIT:
		return "QUIT"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGUSR2:
		return "USR2"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGWINCH:
		return "WINCH"
	}
	return strconv.Itoa(int(s))
}

func orphans(args []string) int {
	fs := flag.NewFlagSet("orphans", flag.ExitOnError)
	linger := fs.Duration("linger", 200*time.Millisecond, "how long each orphan lives")
	fs.Parse(args)
	n, err := strconv.Atoi(fs.Arg(0))
	if err != nil || n <= 0 {
		logf("orphans: want a count > 0, got %q", fs.Arg(0))
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		logf("orphans: %v", err)
		return 1
	}
	for i := 0; i < n; i++ {
		c := exec.Command(self, "sleep", linger.String())
		if err := c.Start(); err != nil {
			logf("orphans: start %d: %v", i, err)
			return 1
		}
		// Never waited for: this process exits first.
	}
	fmt.Printf("orphans=%d\n", n)
	return 0
}

func zombies() int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := fmt.Sprintf("/proc/%d/stat", os.Getpid())
	n, procs := 0, 0
	for _, f := range dirs {
		if f == self {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		// The state follows the last ')': comm may hold spaces and parens.
		procs++
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i >= 0 && i+2 < len(s) && s[i+2] == 'Z' {
			n++
		}
	}
	fmt.Printf("zombies=%d procs=%d\n", n, procs)
	return 0
}

func migrate(args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ExitOnError)
	d := fs.Duration("duration", 300*time.Millisecond, "how long the work takes")
	code := fs.Int("exit", 0, "exit status")
	fs.Parse(args)
	logf("migrate: start")
	time.Sleep(*d)
	logf("migrate: done, exit %d", *code)
	return *code
}

func main() {
	if len(os.Args) < 2 {
		logf("usage: gohelper serve|sidecar|orphans|sleep|zombies|migrate ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve", "sidecar":
		os.Exit(serve(args))
	case "orphans":
		os.Exit(orphans(args))
	case "sleep":
		d, err := time.ParseDuration(strings.Join(args, ""))
		if err != nil {
			logf("sleep: %v", err)
			os.Exit(2)
		}
		time.Sleep(d)
	case "zombies":
		os.Exit(zombies())
	case "migrate":
		os.Exit(migrate(args))
	default:
		logf("unknown mode %q", os.Args[1])
		os.Exit(2)
	}
}
