using System.Buffers;
using System.Text.Unicode;

namespace Hawser.Shared.IO;

/// <summary>
/// Reads a text file a user gave us (a spec, agent.yaml, hawserctl's config) without trusting it:
/// at most the limit plus one byte is read, so <c>/dev/zero</c> or a huge file is refused without
/// filling memory, and bytes that are not UTF-8 are refused with their line instead of being replaced.
/// </summary>
public static class TextInput
{
    /// <summary>The size limit for specs and settings files: 1 MiB.</summary>
    public const int DefaultLimit = 1024 * 1024;

    /// <summary>
    /// The UTF-8 text of <paramref name="path"/> (a leading byte-order mark dropped); throws
    /// <see cref="InvalidDataException"/> naming the file (and line and column) when it is larger than
    /// <paramref name="limit"/> bytes or not valid UTF-8.
    /// </summary>
    public static string ReadUtf8(string path, int limit = DefaultLimit)
    {
        var buffer = new byte[limit + 1];
        var length = 0;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan))
        {
            int read;
            while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
            }
        }
        if (length > limit)
        {
            throw new InvalidDataException($"{path}:1:1: the file is larger than the {limit / 1024} KiB limit");
        }
        var bytes = buffer.AsSpan(0, length);
        if (bytes.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }
        var chars = new char[bytes.Length];
        var status = Utf8.ToUtf16(bytes, chars, out var bytesRead, out var charsWritten, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
        {
            var before = bytes[..bytesRead];
            var line = before.Count((byte)'\n') + 1;
            var column = bytesRead - (before.LastIndexOf((byte)'\n') + 1) + 1;
            throw new InvalidDataException($"{path}:{line}:{column}: byte 0x{bytes[bytesRead]:X2} is not UTF-8 text; save the file as UTF-8");
        }
        return new string(chars, 0, charsWritten);
    }
}
