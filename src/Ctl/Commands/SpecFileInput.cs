using Hawser.Ctl.Output;
using Grpc.Core;

namespace Hawser.Ctl.Commands;

/// <summary>What apply and diff share: reading the spec file, and printing the controller's validation errors.</summary>
internal static class SpecFileInput
{
    /// <summary>The spec's text, or null (after saying why) when the file does not exist.</summary>
    public static async Task<string?> ReadAsync(FileInfo file, ConsoleOutput output, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            output.WriteError($"{file.FullName}: the spec file does not exist", "Usage");
            return null;
        }
        return await File.ReadAllTextAsync(file.FullName, cancellationToken);
    }

    /// <summary>Prints each <c>file:line:column: message</c> the controller found, one per line.</summary>
    public static void PrintErrors(RpcException invalid, ConsoleOutput output)
    {
        foreach (var line in invalid.Status.Detail.Split('\n'))
        {
            output.WriteError(line, "InvalidSpec");
        }
    }
}
