using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// One run of <c>packaging/build-release.sh</c> for the agent, shared by the tests that check its
/// artifacts (NativeAOT for x64 and arm64, about a minute each; hawserctl goes the same way).
/// </summary>
internal static class ReleaseBuild
{
    /// <summary>The version the tests build.</summary>
    public const string Version = "0.0.1-test";

    private static readonly TempDirectory Output = new("hawser-release-");

    // The test's own release key: the build signs with it and builds its public half in.
    private static readonly TempDirectory Keys = new("hawser-release-key-");

    /// <summary>The Ed25519 private key (PEM) the build signs agent releases with.</summary>
    public static string SigningKey => Path.Combine(Keys.Path, "release.key");

    /// <summary>Its public half (PEM), as a controller's --release-key takes it.</summary>
    public static string PublicKey => Path.Combine(Keys.Path, "release.pub");
    private static readonly Lazy<Task<string>> Built = new(BuildAsync);

    /// <summary>The output directory, built on first use.</summary>
    public static Task<string> DirectoryAsync() => Built.Value;

    /// <summary>The release agent (NativeAOT) for <paramref name="arch"/> (x64 or arm64).</summary>
    public static async Task<string> AgentAsync(string arch = "x64") => Path.Combine(await DirectoryAsync(), $"linux-{arch}", "hawser-agent");

    /// <summary>The agent's .deb for <paramref name="debianArch"/> (amd64 or arm64).</summary>
    public static async Task<string> AgentDebAsync(string debianArch = "amd64") => Path.Combine(await DirectoryAsync(), $"hawser-agent_{Version}_{debianArch}.deb");

    /// <summary>Deletes the build.</summary>
    public static void Remove()
    {
        Output.Dispose();
        Keys.Dispose();
    }

    /// <summary>The SHA-256 of the file at <paramref name="path"/>, lower-case hex (as manifests, `agent releases` and sha256sum write it).</summary>
    public static string Sha256Of(string path) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>Makes an Ed25519 key pair: <paramref name="privatePem"/> and, beside it, its public half as <c>.pub</c>.</summary>
    public static async Task MakeKeyAsync(string privatePem)
    {
        var made = await ExternalProcess.RunAsync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", privatePem], TimeSpan.FromSeconds(30));
        Assert.AreEqual(0, made.ExitCode, made.Output);
        var pub = await ExternalProcess.RunAsync("openssl", ["pkey", "-in", privatePem, "-pubout", "-out", Path.ChangeExtension(privatePem, ".pub")], TimeSpan.FromSeconds(30));
        Assert.AreEqual(0, pub.ExitCode, pub.Output);
    }

    private static readonly Dictionary<string, Lazy<Task<string>>> Others = [];

    /// <summary>
    /// Writes <paramref name="binary"/> as release <paramref name="version"/> for x64 into <paramref name="directory"/> (as build-release.sh lays it
    /// out: linux-x64/hawser-agent, its manifest and the manifest's signature by <see cref="SigningKey"/>), for `hawserctl agent publish`.
    /// </summary>
    public static async Task WriteSignedReleaseAsync(string directory, byte[] binary, string version)
    {
        var dir = Path.Combine(directory, "linux-x64");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "hawser-agent");
        File.WriteAllBytes(path, binary);
        File.WriteAllText(path + ".release", $"hawser-agent release\nversion: {version}\narch: x64\nsize: {binary.Length}\n" +
            $"sha256: {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(binary))}\n");
        var signed = await ExternalProcess.RunAsync("openssl", ["pkeyutl", "-sign", "-rawin", "-inkey", SigningKey, "-in", path + ".release", "-out", path + ".release.sig"],
            TimeSpan.FromSeconds(30));
        Assert.AreEqual(0, signed.ExitCode, signed.Output);
    }

    /// <summary>
    /// Another release of this code, the agent for x64 and arm64, signed with the same key: built as <paramref name="version"/> on
    /// first use (a second release to upgrade to); returns its output directory.
    /// </summary>
    public static Task<string> OtherVersionAsync(string version)
    {
        lock (Others)
        {
            if (!Others.TryGetValue(version, out var build))
            {
                Others[version] = build = new Lazy<Task<string>>(async () =>
                {
                    await DirectoryAsync();
                    var output = Path.Combine(Keys.Path, version);
                    var result = await ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "packaging", "build-release.sh"),
                        [version, "--out", output, "--only", "hawser-agent", "--arch", "x64", "--arch", "arm64", "--sign-key", SigningKey], TimeSpan.FromMinutes(20));
                    return result.ExitCode == 0 ? output : throw new AssertFailedException($"packaging/build-release.sh {version} failed: {result.Output}");
                });
            }
            return build.Value;
        }
    }

    private static async Task<string> BuildAsync()
    {
        // Three builds (NativeAOT x64 and arm64, framework-dependent for musl) on 2 cores: about 7 minutes alone, more
        // beside other work (a CI run with the demo beside it went past the old 10-minute bound).
        await MakeKeyAsync(SigningKey);
        var result = await ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "packaging", "build-release.sh"),
            [Version, "--out", Output.Path, "--only", "hawser-agent", "--sign-key", SigningKey], TimeSpan.FromMinutes(20));
        if (result.ExitCode != 0)
        {
            throw new AssertFailedException($"packaging/build-release.sh failed: {result.Output}");
        }
        return Output.Path;
    }
}
