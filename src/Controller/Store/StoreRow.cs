using System.Data.Common;

namespace Hawser.Controller.Store;

/// <summary>The current row of a reader, its columns read by name (so a column added or reordered cannot shift another), times as Unix milliseconds.</summary>
internal readonly struct StoreRow(DbDataReader reader)
{
    /// <summary>A text column.</summary>
    public string Text(string column) => reader.GetString(reader.GetOrdinal(column));

    /// <summary>A text column that may be NULL.</summary>
    public string? TextOrNull(string column) => reader.GetOrdinal(column) is var i && reader.IsDBNull(i) ? null : reader.GetString(i);

    /// <summary>An integer column.</summary>
    public long Number(string column) => reader.GetInt64(reader.GetOrdinal(column));

    /// <summary>An integer column that may be NULL.</summary>
    public long? NumberOrNull(string column) => reader.GetOrdinal(column) is var i && reader.IsDBNull(i) ? null : reader.GetInt64(i);

    /// <summary>A 0/1 column.</summary>
    public bool Flag(string column) => Number(column) != 0;

    /// <summary>A bytes column that may be NULL.</summary>
    public byte[]? BytesOrNull(string column) => reader.GetOrdinal(column) is var i && reader.IsDBNull(i) ? null : (byte[])reader.GetValue(i);

    /// <summary>A time as the store keeps it: Unix milliseconds.</summary>
    public static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    /// <summary>A time column (Unix milliseconds).</summary>
    public DateTimeOffset Time(string column) => DateTimeOffset.FromUnixTimeMilliseconds(Number(column));

    /// <summary>A time column (Unix milliseconds) that may be NULL.</summary>
    public DateTimeOffset? TimeOrNull(string column) => NumberOrNull(column) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
}
