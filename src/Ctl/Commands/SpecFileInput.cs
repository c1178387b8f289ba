using Hawser.Ctl.Output;
using Grpc.Core;

namespace Hawser.Ctl.Commands;

/// <summary>What apply and diff share: reading the spec file, and printing the controller's validation errors.</summary>
internal static class SpecFileInput
{
    /// <summary>The spec's text, or null (after saying why) when the file does not exist, is over 1 MiB or is not UTF-8.</summary>
    public static string? Read(FileInfo file, ConsoleOutput output)
    {
        if (!file.Exists)
        {
            output.WriteError($"{file.FullName}: the spec file does not exist", "Usage");
            return null;
        }
        try
        {
            return Hawser.Shared.IO.TextInput.ReadUtf8(file.FullName);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            output.WriteError(ex.Message, "InvalidSpec");
            return null;
        }
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
