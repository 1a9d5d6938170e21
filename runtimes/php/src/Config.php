<?php

declare(strict_types=1);

namespace Msec;

/**
 * INI configuration with the semantics of MSEC's `get_config(section, key)`
 * (spec §8.1): `[Section]` headers, `key=value` split at the first `=` with
 * both sides trimmed, whole-line `#`/`;` comments. A missing file, section or
 * key, or an empty value, all read as null. Same rules as every runtime.
 */
final class Config
{
    /** Default config location, relative to the working directory. */
    public const DEFAULT_PATH = 'etc/config.ini';

    /** @param array<string, array<string, string>> $data */
    private function __construct(private readonly array $data)
    {
    }

    /** Parses INI text (lines that are nothing known are ignored, as MSEC's loader does). */
    public static function parse(string $text): self
    {
        $data = ['' => []];
        $section = '';
        foreach (preg_split('/\r?\n/', $text) ?: [] as $raw) {
            $line = trim($raw);
            if ($line === '' || $line[0] === '#' || $line[0] === ';') {
                continue;
            }
            if ($line[0] === '[' && str_ends_with($line, ']')) {
                $section = trim(substr($line, 1, -1));
                $data[$section] ??= [];
                continue;
            }
            $eq = strpos($line, '=');
            if ($eq === false || $eq === 0) {
                continue;
            }
            $key = trim(substr($line, 0, $eq));
            if ($key !== '') {
                $data[$section][$key] = trim(substr($line, $eq + 1));
            }
        }
        return new self($data);
    }

    /** Loads a file; a missing or unreadable file is an empty config. */
    public static function load(string $path = self::DEFAULT_PATH): self
    {
        $text = is_file($path) ? @file_get_contents($path) : false;
        return self::parse($text === false ? '' : $text);
    }

    /** Value of `$key` in `[$section]`; null when missing or empty. */
    public function get(string $section, string $key): ?string
    {
        $v = $this->data[$section][$key] ?? null;
        return $v === null || $v === '' ? null : $v;
    }
}
