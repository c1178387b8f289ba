using System.CommandLine;
using Hawser.Controller.Store;

namespace Hawser.Controller.Commands;

/// <summary>The <c>--store</c> option <c>init</c>, <c>run</c> and <c>check</c> share, and the reading of its value.</summary>
internal static class StoreOption
{
    /// <summary>The environment variable that sets --store when the option is not given (the service units use it).</summary>
    public const string EnvironmentVariable = "HAWSER_STORE";

    /// <summary>A new --store option (one per command: an option belongs to one command).</summary>
    public static Option<string> Create() => new("--store")
    {
        HelpName = "URL|FILE",
        Description = "Where the store is. Default: the SQLite file controller.db in --data (one controller). " +
            "For several controllers sharing one PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...], an Npgsql " +
            "connection string, or a file (mode 0600) holding either. Also read from $" + EnvironmentVariable + ".",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "",
    };

    /// <summary>The location the option names (the SQLite store in <paramref name="data"/> when empty), or null after printing why it cannot be read.</summary>
    public static StoreLocation? Read(ParseResult parse, Option<string> option, string data)
    {
        try
        {
            return StoreLocation.Parse(parse.GetValue(option), data);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"error: --store: {ex.Message}");
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: --store: cannot read {parse.GetValue(option)}: {ex.Message}");
            return null;
        }
    }

    /// <summary>Opens the store at <paramref name="location"/>, or returns null after printing why it cannot be.</summary>
    public static ControllerStore? Open(StoreLocation location, bool initialized)
    {
        try
        {
            return ControllerStore.Open(location.OpenEngine(initialized), initialized);
        }
        catch (StoreException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return null;
        }
    }
}
