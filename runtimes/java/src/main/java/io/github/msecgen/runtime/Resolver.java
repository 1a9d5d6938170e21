package io.github.msecgen.runtime;

import java.util.List;

/**
 * A source of routes for routing names ({@code Group.Service}): the routes file,
 * etcd, or your own. {@link SrpcClient} asks its resolvers in order and the first
 * that knows a name supplies the instances the {@link Balancer} picks from.
 */
public interface Resolver {
    /**
     * The instances of {@code service}; an empty list when this resolver does not know it.
     * May throw {@link SrpcException} (-15) when its source is unusable (e.g. a malformed routes file).
     */
    List<RouteInstance> resolve(String service);

    /** Where this resolver looks, for the -15 message (e.g. {@code routes file etc/routes.conf (missing)}). */
    String describe();
}
