// Command csi-registrar registers one CSI driver with the kubelet, as node-driver-registrar does:
// it serves the kubelet's plugin registration API (k8s.io/kubelet/pkg/apis/pluginregistration/v1)
// on a Unix socket in the kubelet's plugins_registry directory. The kubelet finds the socket, asks
// GetInfo for the driver's name and CSI endpoint, and reports the result with
// NotifyRegistrationStatus. A refused registration ends the process with status 1, so the harness
// sees it instead of a driver that never mounts.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

type registrar struct {
	driverName string
	endpoint   string
	refused    chan string
}

func (r *registrar) GetInfo(context.Context, *registration.InfoRequest) (*registration.PluginInfo, error) {
	log.Printf("GetInfo: driver %s at %s", r.driverName, r.endpoint)
	return &registration.PluginInfo{
		Type:              registration.CSIPlugin,
		Name:              r.driverName,
		Endpoint:          r.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registration.RegistrationStatus) (*registration.RegistrationStatusResponse, error) {
	if s.PluginRegistered {
		log.Printf("registered with the kubelet")
	} else {
		r.refused <- s.Error
	}
	return &registration.RegistrationStatusResponse{}, nil
}

func main() {
	socket := flag.String("socket", "", "registration socket to serve, in the kubelet's plugins_registry directory")
	driverName := flag.String("driver-name", "secrets-store.csi.k8s.io", "CSI driver name")
	endpoint := flag.String("csi-endpoint", "", "path of the driver's CSI socket, as the kubelet should dial it")
	flag.Parse()
	if *socket == "" || *endpoint == "" {
		log.Fatal("--socket and --csi-endpoint are required")
	}
	// A socket left by an earlier run would make Listen fail; it is ours by name.
	if err := os.Remove(*socket); err != nil && !os.IsNotExist(err) {
		log.Fatal(err)
	}
	listener, err := net.Listen("unix", *socket)
	if err != nil {
		log.Fatal(err)
	}
	r := &registrar{driverName: *driverName, endpoint: *endpoint, refused: make(chan string, 1)}
	server := grpc.NewServer()
	registration.RegisterRegistrationServer(server, r)
	go func() {
		if err := server.Serve(listener); err != nil {
			log.Fatal(err)
		}
	}()
	log.Printf("serving %s for %s", *socket, *driverName)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	exit := 0
	select {
	case reason := <-r.refused:
		log.Printf("the kubelet refused the registration: %s", reason)
		exit = 1
	case sig := <-stop:
		log.Printf("stopping on %s", sig)
	}
	server.Stop()
	_ = os.Remove(*socket)
	os.Exit(exit)
}
