using System.Collections;

namespace Hawser.Shared.Rpc;

/// <summary>
/// Custom metadata of a call (headers or trailers). Keys are lower-case ASCII; keys ending in
/// <c>-bin</c> carry bytes, which travel base64-encoded.
/// </summary>
public sealed class Metadata : IEnumerable<Metadata.Entry>
{
    /// <summary>The suffix that marks a binary-valued key.</summary>
    public const string BinarySuffix = "-bin";

    private readonly List<Entry> _entries = [];

    /// <summary>One key and its value.</summary>
    public sealed record Entry(string Key, string? Value, byte[]? ValueBytes)
    {
        /// <summary>True when the key ends in <c>-bin</c> and the value is bytes.</summary>
        public bool IsBinary => ValueBytes is not null;
    }

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>Adds an ASCII-valued entry.</summary>
    public Metadata Add(string key, string value)
    {
        key = NormalizeKey(key);
        if (key.EndsWith(BinarySuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"metadata key '{key}' ends in -bin and needs a byte[] value", nameof(key));
        }
        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7E)
            {
                throw new ArgumentException($"metadata value for '{key}' must be printable ASCII", nameof(value));
            }
        }
        _entries.Add(new Entry(key, value, null));
        return this;
    }

    /// <summary>Adds a binary-valued entry; the key must end in <c>-bin</c>.</summary>
    public Metadata Add(string key, byte[] value)
    {
        key = NormalizeKey(key);
        if (!key.EndsWith(BinarySuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"binary metadata key '{key}' must end in -bin", nameof(key));
        }
        _entries.Add(new Entry(key, null, value));
        return this;
    }

    /// <summary>Adds every entry of <paramref name="other"/>.</summary>
    public Metadata AddRange(Metadata other)
    {
        _entries.AddRange(other._entries);
        return this;
    }

    /// <summary>The first ASCII value for <paramref name="key"/>, or null.</summary>
    public string? GetValue(string key) =>
        _entries.FirstOrDefault(e => e.Key == key && !e.IsBinary)?.Value;

    /// <summary>The first binary value for <paramref name="key"/>, or null.</summary>
    public byte[]? GetBytes(string key) =>
        _entries.FirstOrDefault(e => e.Key == key && e.IsBinary)?.ValueBytes;

    /// <inheritdoc />
    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>True for header names that belong to the protocol, not to the application.</summary>
    internal static bool IsReserved(string key) =>
        key.Length == 0
        || key[0] == ':'
        || key.StartsWith("grpc-", StringComparison.Ordinal)
        || key is "content-type" or "te" or "content-length" or "host" or "user-agent" or "accept-encoding";

    /// <summary>Parses one header value into this collection (base64 for -bin keys, comma-separated values allowed).</summary>
    internal void AddFromHeader(string key, string value)
    {
        if (!key.EndsWith(BinarySuffix, StringComparison.Ordinal))
        {
            _entries.Add(new Entry(key, value, null));
            return;
        }
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            _entries.Add(new Entry(key, null, DecodeBase64(part)));
        }
    }

    /// <summary>The header value to send for an entry.</summary>
    internal static string ToHeaderValue(Entry entry) =>
        entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes!) : entry.Value!;

    private static byte[] DecodeBase64(string value)
    {
        // Senders may omit padding; the protocol requires receivers to accept both.
        var padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        return Convert.FromBase64String(padded);
    }

    private static string NormalizeKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var lower = key.ToLowerInvariant();
        foreach (var c in lower)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.'))
            {
                throw new ArgumentException($"metadata key '{key}' may contain only 0-9 a-z _ - .", nameof(key));
            }
        }
        if (IsReserved(lower))
        {
            throw new ArgumentException($"metadata key '{key}' is reserved by the protocol", nameof(key));
        }
        return lower;
    }
}
