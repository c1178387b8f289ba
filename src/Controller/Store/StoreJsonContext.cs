using System.Text.Json.Serialization;

namespace Hawser.Controller.Store;

/// <summary>Source-generated JSON for the store's JSON columns.</summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Rollouts.RolloutSettings))]
[JsonSerializable(typeof(NodeReport))]
[JsonSerializable(typeof(NodeFacts))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
