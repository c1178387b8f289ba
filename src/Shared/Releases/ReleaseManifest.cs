using System.Globalization;
using System.Text;

namespace Hawser.Shared.Releases;

/// <summary>
/// What a release's signature covers for one architecture's agent: its version, architecture, size and SHA-256, as the
/// five lines <c>build-release.sh</c> writes to <c>linux-ARCH/hawser-agent.release</c>. The binary itself is checked
/// against the SHA-256 as it streams, so neither side holds it whole to verify it.
/// </summary>
public sealed record ReleaseManifest(string Version, string Architecture, long Size, string Sha256)
{
    /// <summary>The first line, naming the format.</summary>
    public const string Header = "hawser-agent release";

    /// <summary>The architectures releases are built for (build-release.sh's --arch).</summary>
    public static readonly IReadOnlyList<string> Architectures = ["x64", "arm64"];

    /// <summary>The largest binary a release may carry.</summary>
    public const long MaxSize = 256L * 1024 * 1024;

    /// <summary>The mode an agent binary is written with (0755).</summary>
    public const UnixFileMode ExecutableMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
        | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>The most bytes a manifest may have.</summary>
    public const int MaxTextBytes = 1024;

    /// <summary>The manifest's text, byte for byte what is signed.</summary>
    public string Text => $"{Header}\nversion: {Version}\narch: {Architecture}\nsize: {Size.ToString(CultureInfo.InvariantCulture)}\nsha256: {Sha256}\n";

    /// <summary>The architecture an ELF header's e_machine names (x64, arm64), or what the bytes are instead.</summary>
    public static string MachineOf(ReadOnlySpan<byte> header) =>
        header.Length < 20 || !header[..4].SequenceEqual("\u007fELF"u8) || header[5] != 1 ? "not a little-endian ELF executable"
        : System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(header[18..]) switch
        {
            62 => "x64",
            183 => "arm64",
            var other => $"an ELF binary for machine {other}",
        };

    /// <summary>Reads a manifest; the error names the line that is wrong.</summary>
    public static ReleaseManifest Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxTextBytes)
        {
            throw new FormatException($"a release manifest has at most {MaxTextBytes} bytes; this one has {bytes.Length}");
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException("a release manifest is UTF-8 text; this one is not");
        }
        var lines = text.Split('\n');
        if (lines.Length != 6 || lines[5].Length != 0 || lines[0] != Header)
        {
            throw new FormatException($"a release manifest is '{Header}' and four lines (version, arch, size, sha256), each ending in a newline");
        }
        string Field(int line, string name) => lines[line].StartsWith(name + ": ", StringComparison.Ordinal)
            ? lines[line][(name.Length + 2)..] : throw new FormatException($"line {line + 1} of the release manifest must be '{name}: ...'");
        var version = Field(1, "version");
        if (!Protocol.VersionSkew.IsReleaseVersion(version))
        {
            throw new FormatException($"line 2 of the release manifest: version '{version}' is not like 1.2.3 or 1.2.3-rc1");
        }
        var arch = Field(2, "arch");
        if (!Architectures.Contains(arch))
        {
            throw new FormatException($"line 3 of the release manifest: arch '{arch}' is not one of {string.Join(", ", Architectures)}");
        }
        var sizeText = Field(3, "size");
        if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size <= 0 || size > MaxSize)
        {
            throw new FormatException($"line 4 of the release manifest: size '{sizeText}' is not a number of bytes from 1 to {MaxSize}");
        }
        var sha = Field(4, "sha256");
        if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower))
        {
            throw new FormatException("line 5 of the release manifest: sha256 is 64 lower-case hex digits");
        }
        return new ReleaseManifest(version, arch, size, sha);
    }
}
