using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Hawser.TestSupport;

/// <summary>An operator made as an admin and the operator would: `hawserctl operator add` with the admin's config, then `operator enroll` with its token.</summary>
public sealed record OperatorCredential(string Name, string Config)
{
    /// <summary>Adds <paramref name="name"/> through <paramref name="adminConfig"/> and enrolls it into <paramref name="directory"/>/NAME.yaml.</summary>
    public static async Task<OperatorCredential> AddAsync(string adminConfig, Uri controller, string directory, string name, string role, params string[] selector)
    {
        string[] scope = selector.Length == 0 ? [] : ["--selector", .. selector];
        var added = await HawserProcesses.RunAsync("hawserctl", ["--config", adminConfig, "operator", "add", name, "--role", role, .. scope, "-o", "json"]);
        Assert.AreEqual(0, added.ExitCode, added.Output);
        var enrollment = JsonDocument.Parse(added.StandardOutput).RootElement;
        var config = Path.Combine(directory, $"{name}.yaml");
        var enrolled = await HawserProcesses.RunAsync("hawserctl", ["--config", config, "--controller", controller.ToString(), "operator", "enroll",
            "--token", enrollment.GetProperty("token").GetString()!, "--ca-hash", enrollment.GetProperty("caHash").GetString()!]);
        Assert.AreEqual(0, enrolled.ExitCode, enrolled.Output);
        return new OperatorCredential(name, config);
    }

    /// <summary>Runs hawserctl as this operator.</summary>
    public Task<ProcessResult> CtlAsync(params string[] arguments) => HawserProcesses.RunAsync("hawserctl", ["--config", Config, .. arguments]);

    /// <summary>The operator's certificate with its key, as its config names them.</summary>
    public X509Certificate2 Certificate()
    {
        var lines = File.ReadAllLines(Config);
        string Value(string key) => lines.Single(l => l.StartsWith(key + ": ", StringComparison.Ordinal))[(key.Length + 2)..];
        using var pem = X509Certificate2.CreateFromPemFile(Value("certificate"), Value("key"));
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
