using Hawser.Shared.Rpc;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>Header encodings from the protocol document, checked value by value.</summary>
[TestClass]
public sealed class GrpcProtocolTests
{
    [TestMethod]
    [DataRow("1H", 3600_000.0)]
    [DataRow("2M", 120_000.0)]
    [DataRow("3S", 3_000.0)]
    [DataRow("250m", 250.0)]
    [DataRow("1500u", 1.5)]
    [DataRow("99999999n", 99.999999)]
    public void Parses_every_timeout_unit(string header, double expectedMs)
    {
        Assert.IsTrue(GrpcProtocol.TryParseTimeout(header, out var timeout));
        Assert.AreEqual(expectedMs, timeout.TotalMilliseconds, 0.001);
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("S")]
    [DataRow("10")]
    [DataRow("123456789S")]
    [DataRow("10s")]
    [DataRow("-1S")]
    [DataRow("1.5S")]
    public void Rejects_malformed_timeouts(string header) =>
        Assert.IsFalse(GrpcProtocol.TryParseTimeout(header, out _));

    [TestMethod]
    public void Formats_timeouts_in_at_most_eight_digits_never_shorter()
    {
        foreach (var timeout in new[] { TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(90), TimeSpan.FromDays(30), TimeSpan.FromDays(20000) })
        {
            var header = GrpcProtocol.FormatTimeout(timeout);
            Assert.IsLessThanOrEqualTo(9, header.Length, header);
            Assert.IsTrue(GrpcProtocol.TryParseTimeout(header, out var parsed), header);
            Assert.IsGreaterThanOrEqualTo(timeout.Ticks, parsed.Ticks, header);
        }
        Assert.AreEqual("300000u", GrpcProtocol.FormatTimeout(TimeSpan.FromMilliseconds(300)));
    }

    [TestMethod]
    [DataRow("plain ascii", "plain ascii")]
    [DataRow("100%", "100%25")]
    [DataRow("über", "%C3%BCber")]
    [DataRow("line\nbreak", "line%0Abreak")]
    public void Percent_encodes_status_messages(string message, string encoded)
    {
        Assert.AreEqual(encoded, GrpcProtocol.EncodeMessage(message));
        Assert.AreEqual(message, GrpcProtocol.DecodeMessage(encoded));
    }

    [TestMethod]
    public void Keeps_malformed_percent_escapes_as_they_are() =>
        Assert.AreEqual("50%zz", GrpcProtocol.DecodeMessage("50%zz"));

    [TestMethod]
    [DataRow(400, StatusCode.Internal)]
    [DataRow(401, StatusCode.Unauthenticated)]
    [DataRow(403, StatusCode.PermissionDenied)]
    [DataRow(404, StatusCode.Unimplemented)]
    [DataRow(429, StatusCode.Unavailable)]
    [DataRow(502, StatusCode.Unavailable)]
    [DataRow(503, StatusCode.Unavailable)]
    [DataRow(504, StatusCode.Unavailable)]
    [DataRow(500, StatusCode.Unknown)]
    public void Maps_http_failures_to_the_protocols_status(int http, StatusCode expected) =>
        Assert.AreEqual(expected, GrpcProtocol.StatusFromHttp((System.Net.HttpStatusCode)http));

    [TestMethod]
    public void Metadata_refuses_reserved_and_malformed_keys()
    {
        var metadata = new Metadata();
        Assert.ThrowsExactly<ArgumentException>(() => metadata.Add("grpc-status", "0"));
        Assert.ThrowsExactly<ArgumentException>(() => metadata.Add("bad key", "x"));
        Assert.ThrowsExactly<ArgumentException>(() => metadata.Add("x-bin", "not bytes"));
        Assert.ThrowsExactly<ArgumentException>(() => metadata.Add("x-value", "new\nline"));
        Assert.ThrowsExactly<ArgumentException>(() => metadata.Add("x-bytes", [1, 2]));
    }
}
