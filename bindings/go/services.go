package svcc

// #include <stdlib.h>
// #include "helpers.h"
import "C"

import "unsafe"

// AddService adds an empty service ("namespace/name" or "name"); EEXIST if taken.
func (c *Config) AddService(name string) (*Service, error) {
	var canon string
	err := c.callString("AddService", name, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		var svc *C.struct_svcc_service
		rc, err := C.svcc_config_add_service(cfg, s, &svc)
		if rc == 0 {
			canon = C.GoString(C.svcc_service_name(svc))
		}
		return rc, err
	})
	if err != nil {
		return nil, err
	}
	return &Service{cfg: c, name: canon}, nil
}

// Service finds a service by name, or nil.
func (c *Config) Service(name string) *Service {
	cname, err := cString("Service", name, false)
	if err != nil {
		return nil
	}
	defer C.free(unsafe.Pointer(cname))
	var svc *Service
	c.get(func(cfg *C.struct_svcc_config) {
		if p := C.svcc_config_find_service(cfg, cname); p != nil {
			svc = &Service{cfg: c, name: C.GoString(C.svcc_service_name(p))}
		}
	})
	return svc
}

// RemoveService removes a service; its Service values then fail with ENOENT.
func (c *Config) RemoveService(name string) error {
	return c.callString("RemoveService", name, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_remove_service(cfg, s)
		return rc, err
	})
}

// ServiceCount is the number of services.
func (c *Config) ServiceCount() int {
	n := 0
	c.get(func(cfg *C.struct_svcc_config) { n = int(C.svcc_config_service_count(cfg)) })
	return n
}

// Services in the order they were added or parsed.
func (c *Config) Services() []*Service {
	var out []*Service
	c.get(func(cfg *C.struct_svcc_config) {
		n := C.svcc_config_service_count(cfg)
		for i := C.size_t(0); i < n; i++ {
			name := C.GoString(C.svcc_service_name(C.svcc_config_service_at(cfg, i)))
			out = append(out, &Service{cfg: c, name: name})
		}
	})
	return out
}

// EndpointCount: the endpoints of all the services.
func (c *Config) EndpointCount() int {
	n := 0
	c.get(func(cfg *C.struct_svcc_config) { n = int(C.svcc_config_endpoint_count(cfg)) })
	return n
}

// HealthCheck is a service's health-check NodePort and its local ready endpoints.
type HealthCheck struct {
	Service        string
	Port           uint16
	LocalEndpoints int
}

// HealthChecks: each service with a health-check NodePort, in order.
func (c *Config) HealthChecks() []HealthCheck {
	var out []HealthCheck
	c.get(func(cfg *C.struct_svcc_config) {
		n := C.svcc_config_service_count(cfg)
		for i := C.size_t(0); i < n; i++ {
			svc := C.svcc_config_service_at(cfg, i)
			if port := C.svcc_service_health_check_nodeport(svc); port != 0 {
				out = append(out, HealthCheck{C.GoString(C.svcc_service_name(svc)), uint16(port),
					int(C.svcc_service_local_endpoints(svc))})
			}
		}
	})
	return out
}
