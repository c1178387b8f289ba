using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Controller.Api;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Every method the proto files declare, called by every kind of caller that must be refused, against a
/// real controller: each is in the one authorization table, each refusal is UNAUTHENTICATED or
/// PERMISSION_DENIED, and nothing changed.
/// </summary>
[TestClass]
public sealed class AuthorizationTableTests
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private static IEnumerable<MethodDescriptor> DeclaredMethods() =>
        new[] { AgentReflection.Descriptor, ControlReflection.Descriptor, EnrollmentReflection.Descriptor, Grpc.Health.V1.HealthReflection.Descriptor }
            .SelectMany(file => file.Services).SelectMany(service => service.Methods);

    private static string PathOf(MethodDescriptor method) => $"/{method.Service.FullName}/{method.Name}";

    [TestMethod]
    public void Every_declared_method_is_in_the_table_and_the_table_names_no_other()
    {
        var declared = DeclaredMethods().Select(PathOf).Order(StringComparer.Ordinal).ToList();

        CollectionAssert.AreEqual(declared, MethodAuthorization.Table.Keys.Order(StringComparer.Ordinal).ToList());
        Assert.HasCount(17, ControlReflection.Descriptor.Services.Single().Methods, "the control API's 17 methods");
        Assert.IsTrue(ControlReflection.Descriptor.Services.Single().Methods.All(m => MethodAuthorization.Table[PathOf(m)] == Caller.Admin));
    }

    [TestMethod]
    public async Task Each_method_refuses_every_caller_the_table_does_not_name_and_nothing_changes()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create", "--uses", "2", "-o", "json"]);
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var host1 = new AgentHost();
        using var host2 = new AgentHost();
        await using (var web1 = AgentProcess.Start(host1, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash))
        await using (var web2 = AgentProcess.Start(host2, "web2", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash))
        {
            await web1.WaitForAsync("connected to");
            await web2.WaitForAsync("connected to");
        }
        var removed = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "node", "remove", "web2"]);
        Assert.AreEqual(0, removed.ExitCode, removed.Output);
        using var web1Certificate = host1.NodeCertificate();
        using var revokedCertificate = host2.NodeCertificate();
        using var anonymous = controller.Channel(admin: false);
        using var asNode = controller.Channel(admin: false, clientCertificate: web1Certificate);
        using var asRevoked = controller.Channel(admin: false, clientCertificate: revokedCertificate);
        using var admin = controller.Channel();
        var control = new ControlService.ControlServiceClient(admin);
        var before = await control.GetNodeAsync(new GetNodeRequest { Name = "web1" });

        var wrong = new List<string>();
        var checkedCalls = 0;
        foreach (var method in DeclaredMethods())
        {
            var needed = MethodAuthorization.Table[PathOf(method)];
            var empty = Array.Empty<byte>();
            if (needed != Caller.Anonymous)
            {
                Expect(method, "no client certificate", await CallAsync(anonymous, method, empty), StatusCode.Unauthenticated);
                Expect(method, "a revoked node's certificate", await CallAsync(asRevoked, method, empty), StatusCode.PermissionDenied);
            }
            if (needed == Caller.Admin)
            {
                Expect(method, "a node's certificate", await CallAsync(asNode, method, empty), StatusCode.PermissionDenied);
            }
        }
        var impersonation = new AgentMessage { Hello = new Hello { NodeName = "web2", AgentVersion = "evil" } }.ToByteArray();
        var connect = AgentReflection.Descriptor.Services.Single().Methods.Single();
        Expect(connect, "web1's certificate saying hello as web2", await CallAsync(asNode, connect, impersonation), StatusCode.PermissionDenied);

        Assert.IsEmpty(wrong, string.Join("\n", wrong));
        Assert.AreEqual(2 * 19 + 17 + 1, checkedCalls, "every refusal was tried");
        Assert.IsEmpty((await control.ListRevisionsAsync(new ListRevisionsRequest())).Revisions, "no revision was stored");
        CollectionAssert.AreEqual(new[] { "web1" }, (await control.ListNodesAsync(new ListNodesRequest())).Nodes.Select(n => n.Name).ToArray());
        var after = await control.GetNodeAsync(new GetNodeRequest { Name = "web1" });
        Assert.AreEqual(before.AgentVersion, after.AgentVersion, "the impersonation changed nothing");
        Assert.IsEmpty((await control.ListRolloutsAsync(new ListRolloutsRequest())).Rollouts);
        Assert.IsTrue(controller.Log.Any(l => l.Contains("refused /hawser.v1.ControlService/ApplySpec", StringComparison.Ordinal)), string.Join("\n", controller.Log));

        void Expect(MethodDescriptor method, string who, StatusCode actual, StatusCode expected)
        {
            checkedCalls++;
            if (actual != expected)
            {
                wrong.Add($"{PathOf(method)} with {who}: {actual}, expected {expected}");
            }
        }
    }

    /// <summary>Calls any method with raw bytes as its (first) request message; returns the status it ended with.</summary>
    private static async Task<StatusCode> CallAsync(GrpcChannel channel, MethodDescriptor descriptor, byte[] request)
    {
        var type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var method = new Method<byte[], byte[]>(type, descriptor.Service.FullName, descriptor.Name, Bytes, Bytes);
        var invoker = channel.CreateCallInvoker();
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30));
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    await invoker.AsyncUnaryCall(method, null, options, request);
                    break;
                case MethodType.ServerStreaming:
                    using (var call = invoker.AsyncServerStreamingCall(method, null, options, request))
                    {
                        while (await call.ResponseStream.MoveNext(CancellationToken.None))
                        {
                        }
                    }
                    break;
                default:
                    using (var call = invoker.AsyncDuplexStreamingCall(method, null, options))
                    {
                        try
                        {
                            // The refusal may arrive before the request is written; then reading reports it.
                            await call.RequestStream.WriteAsync(request);
                            await call.RequestStream.CompleteAsync();
                        }
                        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
                        {
                        }
                        while (await call.ResponseStream.MoveNext(CancellationToken.None))
                        {
                        }
                    }
                    break;
            }
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

}
