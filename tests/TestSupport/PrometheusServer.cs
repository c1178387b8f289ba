using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Hawser.TestSupport;

/// <summary>
/// Debian's Prometheus, started by a test with its own config, storage and port, scraping one controller's
/// /metrics every second over TLS (trusting the controller's CA, with the scrape token file); queried through its HTTP API.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _directory;
    private readonly HttpClient _http = new();
    private readonly ProcessOutput _output;

    private PrometheusServer(Process process, TempDirectory directory, Uri api)
    {
        _process = process;
        _directory = directory;
        _output = new ProcessOutput(process);
        Api = api;
    }

    /// <summary>Prometheus's own HTTP address.</summary>
    public Uri Api { get; }

    /// <summary>What it printed (its own log), for failure messages.</summary>
    public string Output => _output.Text;

    /// <summary>Starts Prometheus scraping <paramref name="target"/> (host:port) over HTTPS and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string target, string caFile, string tokenFile)
    {
        var directory = new TempDirectory();
        var config = Path.Combine(directory.Path, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: hawser-controller
                scheme: https
                tls_config:
                  ca_file: {caFile}
                authorization:
                  credentials_file: {tokenFile}
                static_configs:
                  - targets: ["{target}"]
            """);
        var port = FreePorts.Tcp();
        var process = ExternalProcess.Start("prometheus", [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory.Path, "data")}",
            $"--web.listen-address=127.0.0.1:{port}"]);
        var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        if (!await Poll.UntilAsync(async () => await server.ReadyAsync(), TimeSpan.FromSeconds(60)))
        {
            throw new AssertFailedException("prometheus did not become ready:\n" + server.Output);
        }
        return server;
    }

    private async Task<bool> ReadyAsync()
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(Api, "-/ready"));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>An instant query: each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string expression)
    {
        var json = await _http.GetStringAsync(new Uri(Api, "api/v1/query?query=" + Uri.EscapeDataString(expression)));
        var data = JsonDocument.Parse(json).RootElement.GetProperty("data").GetProperty("result");
        return [.. data.EnumerateArray().Select(series => (
            (IReadOnlyDictionary<string, string>)series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))];
    }

    /// <summary>Why Prometheus refuses <paramref name="expression"/> (its errorType and error), or null when it evaluates it.</summary>
    public async Task<string?> QueryErrorAsync(string expression)
    {
        using var response = await _http.GetAsync(new Uri(Api, "api/v1/query?query=" + Uri.EscapeDataString(expression)));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return json.GetProperty("status").GetString() == "success" ? null
            : $"{json.GetProperty("errorType").GetString()}: {json.GetProperty("error").GetString()}";
    }

    /// <summary>Every metric name Prometheus holds series of (what it scraped).</summary>
    public async Task<IReadOnlySet<string>> MetricNamesAsync()
    {
        var json = await _http.GetStringAsync(new Uri(Api, "api/v1/label/__name__/values"));
        return JsonDocument.Parse(json).RootElement.GetProperty("data").EnumerateArray().Select(n => n.GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The one value of <paramref name="expression"/>, or null when it has no series (yet).</summary>
    public async Task<double?> ValueAsync(string expression) => (await QueryAsync(expression)) is [var only] ? only.Value : null;

    /// <summary>The health of the scrape target as Prometheus sees it, with the last error.</summary>
    public async Task<string> TargetHealthAsync()
    {
        var json = await _http.GetStringAsync(new Uri(Api, "api/v1/targets"));
        return string.Join("; ", JsonDocument.Parse(json).RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => $"{t.GetProperty("scrapeUrl").GetString()} {t.GetProperty("health").GetString()} {t.GetProperty("lastError").GetString()}"));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _http.Dispose();
        _directory.Dispose();
    }
}
