using System.Globalization;
using Hawser.Controller.Store.Engines;
using Npgsql;

namespace Hawser.Controller.Store;

/// <summary>
/// Where the store is, as the <c>--store</c> option says it: nothing (the SQLite file in the data
/// directory), <c>sqlite:DIR</c>, a PostgreSQL URL (<c>postgres://user:password@host:port/db?sslmode=require</c>),
/// an Npgsql connection string (<c>Host=...;Database=...</c>), or the path of a file (0600) holding one of these,
/// so a password need not appear in a unit file or the process list.
/// </summary>
public sealed record StoreLocation
{
    /// <summary>The SQLite data directory; null for PostgreSQL.</summary>
    public string? SqliteDirectory { get; init; }

    /// <summary>The Npgsql connection string; null for SQLite.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>How messages name it (never with a password).</summary>
    public required string Description { get; init; }

    /// <summary>True for PostgreSQL, which several controllers may share.</summary>
    public bool IsShared => PostgresConnectionString is not null;

    /// <summary>The SQLite store in <paramref name="dataDirectory"/>.</summary>
    public static StoreLocation Sqlite(string dataDirectory)
    {
        var directory = Path.GetFullPath(dataDirectory);
        return new StoreLocation { SqliteDirectory = directory, Description = Path.Combine(directory, SqliteEngine.DatabaseFileName) };
    }

    /// <summary>
    /// Reads an option's value; <paramref name="dataDirectory"/> is where the SQLite store is when the value is
    /// empty. Throws <see cref="FormatException"/> with a message naming what is wrong.
    /// </summary>
    public static StoreLocation Parse(string? value, string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Sqlite(dataDirectory);
        }
        if (ParseText(value.Trim()) is { } parsed)
        {
            return parsed;
        }
        return ParseFile(value);
    }

    /// <summary>Opens the engine (SQLite takes its directory's lock here).</summary>
    public StoreEngine OpenEngine(bool initialized) => SqliteDirectory is { } directory
        ? SqliteEngine.Open(directory, initialized)
        : new PostgresEngine(PostgresConnectionString!, Description);

    private static StoreLocation? ParseText(string text)
    {
        if (text.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            var directory = text["sqlite:".Length..];
            return directory.Length == 0 ? throw new FormatException("'sqlite:' needs the data directory after it, e.g. sqlite:/var/lib/hawser-controller") : Sqlite(directory);
        }
        if (text.StartsWith("postgres://", StringComparison.Ordinal) || text.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            return FromConnectionString(ParseUrl(text));
        }
        if (!text.StartsWith('/') && !text.StartsWith('.') && text.Contains('='))
        {
            NpgsqlConnectionStringBuilder builder;
            try
            {
                builder = new NpgsqlConnectionStringBuilder(text);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException($"not a PostgreSQL connection string: {ex.Message}", ex);
            }
            return FromConnectionString(builder);
        }
        return null;
    }

    private static StoreLocation ParseFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FormatException($"'{path}' is neither a store URL (postgres://..., sqlite:DIR), a connection string, nor an existing file");
        }
        var mode = File.GetUnixFileMode(full);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            throw new FormatException($"{full} may hold a password but others can read it (mode {Convert.ToString((int)mode, 8)}); chmod 600 {full}");
        }
        var text = File.ReadAllText(full).Trim();
        try
        {
            return ParseText(text) ?? throw new FormatException("it holds neither a store URL nor a connection string");
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{full}: {ex.Message}", ex);
        }
    }

    private static StoreLocation FromConnectionString(NpgsqlConnectionStringBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new FormatException("the PostgreSQL store names no host (a name, an address, or a unix socket directory such as /run/postgresql)");
        }
        var user = builder.Username is { Length: > 0 } name ? $"{name}@" : "";
        var database = builder.Database ?? builder.Username;
        var port = builder.Port == NpgsqlConnection.DefaultPort ? "" : $"{builder.Port}";
        // A unix socket directory goes in the query, as libpq writes it.
        var description = builder.Host.StartsWith('/')
            ? $"postgres://{user}/{database}?host={builder.Host}{(port.Length > 0 ? $"&port={port}" : "")}"
            : $"postgres://{user}{builder.Host}{(port.Length > 0 ? $":{port}" : "")}/{database}";
        return new StoreLocation { PostgresConnectionString = builder.ConnectionString, Description = description };
    }

    /// <summary>
    /// A libpq URL (<c>postgres[ql]://[user[:password]@][host][:port][,host[:port]...][/dbname][?param=value&amp;...]</c>)
    /// as Npgsql's connection string; the query takes libpq's common parameters.
    /// </summary>
    private static NpgsqlConnectionStringBuilder ParseUrl(string url)
    {
        var rest = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var builder = new NpgsqlConnectionStringBuilder();
        var query = "";
        if (rest.IndexOf('?') is var q and >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }
        var path = "";
        if (rest.IndexOf('/') is var slash and >= 0)
        {
            path = rest[(slash + 1)..];
            rest = rest[..slash];
        }
        if (rest.LastIndexOf('@') is var at and >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
        }
        if (rest.Length > 0)
        {
            builder.Host = Uri.UnescapeDataString(rest);
        }
        if (path.Length > 0)
        {
            builder.Database = Uri.UnescapeDataString(path);
        }
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var key = equals < 0 ? pair : pair[..equals];
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            switch (key)
            {
                case "host": builder.Host = value; break;
                case "port": builder.Port = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536 ? port : throw new FormatException($"port '{value}' in the store URL is not a port number"); break;
                case "user": builder.Username = value; break;
                case "password": builder.Password = value; break;
                case "dbname": builder.Database = value; break;
                case "sslmode": builder.SslMode = Enum.TryParse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode) ? mode : throw new FormatException($"sslmode '{value}' in the store URL is not one of disable, allow, prefer, require, verify-ca, verify-full"); break;
                case "sslrootcert": builder.RootCertificate = value; break;
                case "application_name": builder.ApplicationName = value; break;
                case "connect_timeout": builder.Timeout = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : throw new FormatException($"connect_timeout '{value}' in the store URL is not a number of seconds"); break;
                case "target_session_attrs": builder.TargetSessionAttributes = value; break;
                default: throw new FormatException($"the store URL's parameter '{key}' is not one hawser-controller knows (host, port, user, password, dbname, sslmode, sslrootcert, application_name, connect_timeout, target_session_attrs)");
            }
        }
        return builder;
    }
}
