// A stand-in for monis.app/mlog, which the Go module proxy refuses (403). The Secrets Store CSI
// driver v1.5.4 uses six of its names; infra/local/build-csi.sh points the driver's go.mod here
// with a `replace`, so the driver itself builds unmodified.
module monis.app/mlog

go 1.21

require k8s.io/klog/v2 v2.100.1

require github.com/go-logr/logr v1.2.0 // indirect
