// The module says go 1.24, so Go 1.26 records containermaxprocs=0 (and
// updatemaxprocs=0) in DefaultGODEBUG: the runtime then sizes GOMAXPROCS
// from the CPU count only, like Go < 1.25.
module example.com/goprobe

go 1.24
