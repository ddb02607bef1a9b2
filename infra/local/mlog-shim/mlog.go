// Package mlog maps the names the Secrets Store CSI driver v1.5.4 calls (cmd/secrets-store-csi-driver,
// pkg/secrets-store, pkg/rotation) onto klog, which the driver already configures through its flags.
package mlog

import (
	"context"
	"fmt"
	"os"

	"k8s.io/klog/v2"
)

// LogFormat is the output format the driver asks for (--log-format-json).
type LogFormat string

const (
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

// Setup returns the function the driver defers at exit: flush what klog buffered.
func Setup() func() { return klog.Flush }

// ValidateAndSetKlogLevelAndFormatGlobally accepts the level the driver read back from klog's own
// flags (so it is already in effect); it only refuses what klog cannot do. JSON is written as
// klog's text format: the tests read these logs as text.
func ValidateAndSetKlogLevelAndFormatGlobally(_ context.Context, level klog.Level, format LogFormat) error {
	if level < 0 {
		return fmt.Errorf("invalid log level %d", level)
	}
	if format != FormatText && format != FormatJSON {
		return fmt.Errorf("unknown log format %q", format)
	}
	return nil
}

// Error logs msg with an error (or key/value pairs) at error severity.
func Error(msg string, keysAndValues ...any) {
	if len(keysAndValues) > 0 {
		if err, ok := keysAndValues[0].(error); ok {
			klog.ErrorSDepth(1, err, msg, keysAndValues[1:]...)
			return
		}
	}
	klog.ErrorSDepth(1, nil, msg, keysAndValues...)
}

// Fatal logs err and exits with status 1, after flushing.
func Fatal(err error, keysAndValues ...any) {
	klog.ErrorSDepth(1, err, "fatal", keysAndValues...)
	klog.Flush()
	os.Exit(1)
}
