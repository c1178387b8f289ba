using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Transport;

/// <summary>Runs a scenario of an independent gRPC client (grpc-js or grpcio) and parses its JSON result.</summary>
internal static class InteropClientRunner
{
    public static Task<JsonElement> GrpcJsAsync(string hostPort, string scenario) =>
        RunAsync("node", [Path.Combine(RepoPaths.Interop, "client.js"), hostPort, scenario]);

    public static Task<JsonElement> GrpcioAsync(string hostPort, string scenario) =>
        RunAsync(InteropPeerServer.DebianPython, [Path.Combine(RepoPaths.Interop, "client.py"), hostPort, scenario]);

    private static async Task<JsonElement> RunAsync(string program, string[] arguments)
    {
        var result = await ExternalProcess.RunAsync(program, arguments, TimeSpan.FromSeconds(60), RepoPaths.Interop);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        var line = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        Assert.IsNotNull(line, result.Output);
        return JsonDocument.Parse(line).RootElement.Clone();
    }
}
