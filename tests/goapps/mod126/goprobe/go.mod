module example.com/goprobe

go 1.26.0
