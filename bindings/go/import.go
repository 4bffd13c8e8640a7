package svcc

// #include <stdlib.h>
// #include <svcc.h>
import "C"

import (
	"syscall"
	"unsafe"
)

// ImportOptions say what Kubernetes objects do not: this node's place, the
// cluster's networks, and how pods are told apart (by PodCIDRs, the
// default, or by at most one of PodBridge, PodInterfacePrefix, NodePodCIDRs).
type ImportOptions struct {
	NodeName           string // its endpoints are local; its hints are taken
	Zone               string // topology.kubernetes.io/zone
	PodCIDRs           []string
	ServiceCIDRs       []string
	NodeIPs            []string
	PodBridge          string
	PodInterfacePrefix string
	NodePodCIDRs       []string
}

// ImportBuffer is one document (JSON or YAML) in memory; Name is what
// diagnostics call it.
type ImportBuffer struct {
	Name string
	Data []byte
}

// ImportK8s reads Services and EndpointSlices (JSON or YAML; single
// objects, Lists of any kind, YAML streams; "-" is standard input) into a
// config, as kube-proxy would use them.  What the language cannot say is
// left out with a warning in the config's Diags.  opts may be nil.
func ImportK8s(files []string, opts *ImportOptions) (*Config, error) {
	arr, err := cStrings("ImportK8s", files)
	if err != nil {
		return nil, err
	}
	defer freeCStrings(arr, len(files))
	return importWith("ImportK8s", opts, func(ctx *C.struct_svcc_ctx, o *C.struct_svcc_import_options,
		out **C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_import_k8s(ctx, arr, C.size_t(len(files)), o, out)
		return rc, err
	})
}

// ImportK8sBuffers is ImportK8s from memory (an agent's watch cache).
func ImportK8sBuffers(bufs []ImportBuffer, opts *ImportOptions) (*Config, error) {
	cbufs := make([]C.struct_svcc_import_buffer, len(bufs)+1) // only C pointers in it
	var strs cstrs
	defer strs.free()
	var datas []unsafe.Pointer
	defer func() {
		for _, d := range datas {
			C.free(d)
		}
	}()
	for i, b := range bufs {
		name, err := strs.add(b.Name, false)
		if err != nil {
			return nil, &Error{Op: "ImportK8sBuffers", Err: syscall.EINVAL}
		}
		data := C.CBytes(b.Data) // the data may hold NULs: its length says
		datas = append(datas, data)
		cbufs[i] = C.struct_svcc_import_buffer{name: name, data: (*C.char)(data), len: C.size_t(len(b.Data))}
	}
	return importWith("ImportK8sBuffers", opts, func(ctx *C.struct_svcc_ctx, o *C.struct_svcc_import_options,
		out **C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_import_k8s_buffers(ctx, &cbufs[0], C.size_t(len(bufs)), o, out)
		return rc, err
	})
}

// importWith: opts as C memory, and a context kept with the config as a parse's is.
func importWith(op string, opts *ImportOptions, call func(*C.struct_svcc_ctx, *C.struct_svcc_import_options,
	**C.struct_svcc_config) (C.int, error)) (*Config, error) {
	var o C.struct_svcc_import_options
	var strs cstrs
	defer strs.free()
	var lists []struct {
		arr **C.char
		n   int
	}
	defer func() {
		for _, l := range lists {
			freeCStrings(l.arr, l.n)
		}
	}()
	if opts != nil {
		for _, s := range []struct {
			dst **C.char
			v   string
		}{{&o.node_name, opts.NodeName}, {&o.zone, opts.Zone}, {&o.pod_bridge, opts.PodBridge},
			{&o.pod_interface_prefix, opts.PodInterfacePrefix}} {
			cs, err := strs.add(s.v, true)
			if err != nil {
				return nil, &Error{Op: op, Err: syscall.EINVAL}
			}
			*s.dst = cs
		}
		for _, l := range []struct {
			dst **(*C.char)
			n   *C.size_t
			v   []string
		}{{&o.pod_cidrs, &o.npod_cidrs, opts.PodCIDRs}, {&o.service_cidrs, &o.nservice_cidrs, opts.ServiceCIDRs},
			{&o.node_ips, &o.nnode_ips, opts.NodeIPs}, {&o.node_pod_cidrs, &o.nnode_pod_cidrs, opts.NodePodCIDRs}} {
			arr, err := cStrings(op, l.v)
			if err != nil {
				return nil, err
			}
			lists = append(lists, struct {
				arr **C.char
				n   int
			}{arr, len(l.v)})
			*l.dst, *l.n = arr, C.size_t(len(l.v))
		}
	}
	return parse(op, func(ctx *C.struct_svcc_ctx, out **C.struct_svcc_config) (C.int, error) {
		return call(ctx, &o, out)
	})
}
