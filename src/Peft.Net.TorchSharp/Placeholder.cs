namespace Peft.Net.TorchSharp;
