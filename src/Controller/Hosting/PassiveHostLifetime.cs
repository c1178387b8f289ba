using Microsoft.Extensions.Hosting;

namespace Hawser.Controller.Hosting;

/// <summary>
/// A host lifetime that ignores SIGTERM and SIGINT: signals belong to the program that owns the
/// process (System.CommandLine's token, or the default exit), not to each embedded web host.
/// </summary>
internal sealed class PassiveHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
