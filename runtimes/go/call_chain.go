package msec

import "context"

// A call made while serving another call carries that call's flow id (and
// colouring) downstream, so logs along the chain share one request id
// (spec §1.6). Go code passes them in the context.

type flowIDKey struct{}

type coloringKey struct{}

// WithFlowID returns a context whose calls send flowID as CRpcHead.flow_id
// instead of the default ColorID(method) XOR sequence. 0 means the default.
func WithFlowID(ctx context.Context, flowID uint64) context.Context {
	return context.WithValue(ctx, flowIDKey{}, flowID)
}

// WithColoring returns a context whose calls send coloring as
// CRpcHead.coloring (1 = log this call chain at every level) when the
// client's Options.Coloring is 0.
func WithColoring(ctx context.Context, coloring uint32) context.Context {
	return context.WithValue(ctx, coloringKey{}, coloring)
}

// chainFlowID is the flow id set with WithFlowID, or 0.
func chainFlowID(ctx context.Context) uint64 {
	id, _ := ctx.Value(flowIDKey{}).(uint64)
	return id
}

// chainColoring is the colouring set with WithColoring, or 0.
func chainColoring(ctx context.Context) uint32 {
	c, _ := ctx.Value(coloringKey{}).(uint32)
	return c
}
