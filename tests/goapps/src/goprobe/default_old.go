//go:build !go1.25

package main

// Go < 1.25 has no cgroup-aware default to ask for: it is the CPU count.
func runtimeDefaultGOMAXPROCS() string { return "-" }

// gomaxprocsEnv parses GOMAXPROCS as Go 1.19's schedinit does (runtime
// atoi32): optional '-', decimal digits only, no overflow of int32; only a
// value > 0 counts. "+3" and "" are ignored.
func gomaxprocsEnv(s string) (int, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > 1<<31-1 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return int(n), n > 0
}
