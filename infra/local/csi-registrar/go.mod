// A stand-in for node-driver-registrar (the Go module proxy refuses it): the kubelet's plugin
// registration for a CSI driver that runs as a host process, built by infra/local/build-csi.sh
// with the same k8s.io/kubelet and gRPC versions the Secrets Store CSI driver v1.5.4 uses.
module rotor.local/csi-registrar

go 1.21

require (
	google.golang.org/grpc v1.56.3
	k8s.io/kubelet v0.26.4
)

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.3 // indirect
	golang.org/x/net v0.9.0 // indirect
	golang.org/x/sys v0.7.0 // indirect
	golang.org/x/text v0.9.0 // indirect
	google.golang.org/genproto v0.0.0-20230410155749-daa745c078e1 // indirect
	google.golang.org/protobuf v1.30.0 // indirect
)
