package io.github.msecgen.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The routes file: the plain-text format every msec-gen runtime reads the same way.
 *
 * <pre>
 * # &lt;Group.Service&gt; &lt;ip:port[@tcp|@udp]&gt; [weight=N]
 * VOA.Crawl     10.0.0.1:7963
 * VOA.Crawl     10.0.0.2:7963  weight=200
 * VOA.Jsoup     10.0.0.3:9000@tcp
 * </pre>
 *
 * One instance per line; {@code #} starts a comment (whole line or trailing); blank
 * lines are ignored; the default weight is 100. Located by the {@code MSEC_ROUTES}
 * environment variable, else {@code [ROUTE] File} in {@code etc/config.ini}, else
 * {@code etc/routes.conf}, relative to the working directory (the TypeScript
 * runtime's order); re-read when its modification time or size changes (checked at most
 * once per {@link #RECHECK_MS}).
 */
public final class RoutesFile implements Resolver {
    /** Weight of a line without {@code weight=} (the MSEC console always wrote 100). */
    public static final int DEFAULT_WEIGHT = 100;
    /** Environment variable naming the routes file. */
    public static final String ENV = "MSEC_ROUTES";
    /** Routes file used when neither the environment nor the config names one. */
    public static final String DEFAULT_PATH = "etc/routes.conf";
    /** Config whose {@code [ROUTE] File} names the routes file (MSEC's {@code etc/config.ini}). */
    public static final String CONFIG_PATH = "etc/config.ini";
    /** The file is checked for changes at most this often. */
    public static final long RECHECK_MS = 1000;

    /** A line of a routes file that cannot be used; the message starts with {@code file:line:}. */
    public static final class FormatException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FormatException(String file, int line, String detail) {
            super(file + ":" + line + ": " + detail);
        }
    }

    private static final Pattern NAME = Pattern.compile("[^.:@\\s]+(\\.[^.:@\\s]+)+");
    private static final Pattern WEIGHT = Pattern.compile("weight=([0-9]+)");

    private final Path fixedPath;
    private Path loadedPath;
    private String loadedStamp = "";
    private long checkedAt = Long.MIN_VALUE;
    private Map<String, List<RouteInstance>> routes = Map.of();
    private FormatException failure;

    /** A routes file at {@code path}; {@code null} means {@link #defaultPath()}, evaluated on every check. */
    public RoutesFile(Path path) {
        this.fixedPath = path;
    }

    /**
     * {@code $MSEC_ROUTES} when set and non-empty, else {@code [ROUTE] File} of
     * {@code etc/config.ini} (a service's config), else {@code etc/routes.conf}.
     */
    public static Path defaultPath() {
        String env = System.getenv(ENV);
        if (env != null && !env.isEmpty()) return Path.of(env);
        String configured = configValue(Path.of(CONFIG_PATH), "ROUTE", "File");
        return Path.of(configured != null ? configured : DEFAULT_PATH);
    }

    /**
     * MSEC's {@code get_config(section, key)} on an INI file: {@code [Section]} headers,
     * {@code key=value} split at the first {@code =} with both sides trimmed, whole-line
     * {@code #} / {@code ;} comments, the last assignment wins; {@code null} for a missing
     * file, section or key, or an empty value.
     */
    static String configValue(Path file, String section, String key) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
        String current = "";
        String value = null;
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) continue;
            if (line.startsWith("[") && line.endsWith("]")) {
                current = line.substring(1, line.length() - 1).strip();
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0 || !current.equals(section)) continue;
            if (line.substring(0, eq).strip().equals(key)) value = line.substring(eq + 1).strip();
        }
        return value == null || value.isEmpty() ? null : value;
    }

    /** Parses routes-file text into instances per service name, in file order. */
    public static Map<String, List<RouteInstance>> parse(String text, String filename) {
        Map<String, List<RouteInstance>> routes = new HashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int hash = lines[i].indexOf('#');
            String line = (hash < 0 ? lines[i] : lines[i].substring(0, hash)).strip();
            if (line.isEmpty()) continue;
            int number = i + 1;
            String[] parts = line.split("\\s+");
            if (parts.length < 2 || parts.length > 3) {
                throw new FormatException(filename, number,
                    "expected \"<Group.Service> <ip:port[@tcp|@udp]> [weight=N]\", got \"" + line + "\"");
            }
            String name = parts[0];
            String addressText = parts[1];
            if (!NAME.matcher(name).matches()) {
                throw new FormatException(filename, number, "service name \"" + name + "\" is not of the form Group.Service");
            }
            Route route = Route.parseLiteral(addressText);
            int at = addressText.indexOf('@');
            String suffix = at < 0 ? "tcp" : addressText.substring(at + 1);
            if (route == null || !(suffix.equals("tcp") || suffix.equals("udp"))) {
                throw new FormatException(filename, number,
                    "invalid address \"" + addressText + "\" (expected ip:port, ip:port@tcp or ip:port@udp)");
            }
            int weight = DEFAULT_WEIGHT;
            if (parts.length == 3) {
                Matcher m = WEIGHT.matcher(parts[2]);
                long parsed = m.matches() && m.group(1).length() <= 9 ? Long.parseLong(m.group(1)) : 0;
                if (parsed <= 0) {
                    throw new FormatException(filename, number, "expected weight=N with N > 0, got \"" + parts[2] + "\"");
                }
                weight = (int) parsed;
            }
            List<RouteInstance> list = routes.computeIfAbsent(name, k -> new ArrayList<>());
            for (RouteInstance other : list) {
                if (other.route().ip().equals(route.ip()) && other.route().port() == route.port()) {
                    throw new FormatException(filename, number, name + " lists " + addressText + " twice");
                }
            }
            list.add(new RouteInstance(route, weight));
        }
        routes.replaceAll((k, v) -> Collections.unmodifiableList(v));
        return routes;
    }

    /**
     * The instances of {@code service}, or an empty list when the file is missing or does
     * not list it. A malformed file throws {@code SrpcException(-15)} with the
     * {@link FormatException}'s {@code file:line:} message on every lookup until fixed.
     */
    @Override
    public List<RouteInstance> resolve(String service) {
        try {
            return instances(service);
        } catch (FormatException e) {
            throw new SrpcException(SrpcCode.GET_ROUTE_FAILED, e.getMessage(), service, false, false, e);
        }
    }

    /** Like {@link #resolve} but a malformed file throws its {@link FormatException}. */
    public synchronized List<RouteInstance> instances(String service) {
        refresh();
        if (failure != null) throw failure;
        return routes.getOrDefault(service, List.of());
    }

    /** {@code routes file <path>}, plus {@code (missing)} when the file was not there at the last look. */
    @Override
    public synchronized String describe() {
        Path path = currentPath();
        return "routes file " + path + (path.equals(loadedPath) && loadedStamp.equals("missing") ? " (missing)" : "");
    }

    /** The path looked at now. */
    public Path currentPath() {
        return fixedPath != null ? fixedPath : defaultPath();
    }

    private void refresh() {
        Path path = currentPath();
        long now = System.nanoTime() / 1_000_000;
        if (path.equals(loadedPath) && now - checkedAt < RECHECK_MS) return;
        checkedAt = now;
        String stamp;
        try {
            BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
            stamp = attrs.lastModifiedTime().toMillis() + ":" + attrs.size();
        } catch (IOException e) {
            loadedPath = path;
            loadedStamp = "missing";
            routes = Map.of();
            failure = null;
            return;
        }
        if (path.equals(loadedPath) && stamp.equals(loadedStamp)) return;
        loadedPath = path;
        loadedStamp = stamp;
        try {
            routes = parse(Files.readString(path, StandardCharsets.UTF_8), path.toString());
            failure = null;
        } catch (FormatException e) {
            routes = Map.of();
            failure = e;
        } catch (NoSuchFileException e) {
            routes = Map.of();
            failure = null;
        } catch (IOException e) {
            routes = Map.of();
            failure = new FormatException(path.toString(), 0, "cannot read: " + e.getMessage());
        }
    }
}
