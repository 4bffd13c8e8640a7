// Package svcc is the Go binding of libsvcc: it compiles Kubernetes-style
// service descriptions (the .svc language, or a Config built in code) into
// one nftables table, and keeps the kernel in step with it.
//
//	cfg := svcc.NewConfig()
//	defer cfg.Close()
//	cfg.AddPodCIDR("10.244.0.0/16")
//	web, _ := cfg.AddService("default/web")
//	web.SetVIP("10.96.0.10")
//	web.SetPorts([]svcc.Port{{Name: "http", Port: 80, Proto: svcc.TCP, TargetPort: 8080}})
//	web.SetEndpoints([]svcc.Endpoint{{Addr: "10.244.1.5"}, {Addr: "10.244.2.7"}})
//	rs, err := svcc.Compile(cfg, nil)
//
// Memory: a Config, Ruleset and Runtime hold C memory (and a Runtime a
// netlink socket).  Close frees it at once; a finalizer frees it when the
// value is garbage-collected without Close, so forgetting Close leaks
// nothing for long, but a Runtime should be closed when done.  Using a value
// after Close returns an error wrapping syscall.EBADF (getters: zero
// values).  A Service is a name within its Config, not a pointer: it stays
// valid (and safe) while its Config is open, and calls on it fail with
// syscall.ENOENT once the service is removed.  Go keeps no C pointer beyond
// the handle it owns; strings and lists are copied into Go at each call.
//
// Errors are *Error values: the failed call, the errno (errors.Is(err,
// syscall.EINVAL) works) and, for parsing, compiling and applying, the
// library's diagnostics with their file, line and column.
//
// Concurrency: each value has a mutex, so any value may be used from many
// goroutines; distinct values work in parallel.
//
// Linking: by default through pkg-config (the installed libsvcc); with
// -tags svcc_local against a build tree (see test.sh).
package svcc
